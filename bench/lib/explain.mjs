// EXPLAIN (ANALYZE, BUFFERS) of a statement with its values, and a one-line summary of the plan.

function describeNode(node) {
  const parts = [node['Node Type']];
  if (node['Scan Direction'] === 'Backward') parts.push('Backward');
  if (node['Index Name']) parts.push(`using ${node['Index Name']}`);
  if (node['Relation Name']) parts.push(`on ${node['Relation Name']}`);
  const details = [];
  const rows = node['Actual Rows'] * (node['Actual Loops'] ?? 1);
  details.push(
    `${rows.toLocaleString('en-US')} rows${node['Actual Loops'] > 1 ? ` over ${node['Actual Loops']} loops` : ''}`,
  );
  if (node['Rows Removed by Filter']) {
    details.push(`${node['Rows Removed by Filter'].toLocaleString('en-US')} removed by filter`);
  }
  if (node['Heap Fetches'] !== undefined) details.push(`${node['Heap Fetches']} heap fetches`);
  if (node['Sort Method']) details.push(node['Sort Method']);
  if (node['Workers Launched']) details.push(`${node['Workers Launched']} workers`);
  return `${parts.join(' ')} (${details.join(', ')})`;
}

function walk(node, out = []) {
  out.push(describeNode(node));
  for (const child of node.Plans ?? []) walk(child, out);
  return out;
}

/** Runs EXPLAIN (ANALYZE, BUFFERS) on `text` with `values`; returns the plan, its text and a summary. */
export async function explain(client, text, values = []) {
  const { rows } = await client.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${text}`, values);
  const [result] = rows[0]['QUERY PLAN'];
  const { rows: textRows } = await client.query(`EXPLAIN (ANALYZE, BUFFERS) ${text}`, values);
  const plan = result.Plan;
  const hit = plan['Shared Hit Blocks'] ?? 0;
  const read = plan['Shared Read Blocks'] ?? 0;
  return {
    nodes: walk(plan),
    executionMs: result['Execution Time'],
    planningMs: result['Planning Time'],
    buffersHit: hit,
    buffersRead: read,
    summary:
      `${walk(plan).join(' → ')}; ${hit.toLocaleString('en-US')} buffers hit, ` +
      `${read.toLocaleString('en-US')} read; execution ${result['Execution Time'].toFixed(2)} ms`,
    text: textRows.map((row) => row['QUERY PLAN']).join('\n'),
  };
}
