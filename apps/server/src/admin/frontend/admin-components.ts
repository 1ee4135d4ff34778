/**
 * The panel's three custom React components (the dashboard, and the confirmation of the record
 * and bulk actions), written against the globals AdminJS's prebuilt front end already exposes
 * (React, AdminJS, AdminJSDesignSystem) with React.createElement instead of JSX.
 *
 * Why not AdminJS's ComponentLoader: it bundles with rollup and babel, at boot in production and
 * on the first page view (or in a file watcher) otherwise, into a temporary folder. This code
 * needs no bundling at all: `registerAdminComponents` is type-checked here and its compiled text
 * is served as `components.bundle.js` (admin-router.loader.ts). Boot stays as fast as without custom
 * components and nothing is written to disk.
 *
 * Everything inside `registerAdminComponents` runs in the browser: it may only use those globals,
 * never a value imported in this module.
 */

/** Component ids, as resource options name them and AdminJS.UserComponents holds them. */
export const ADMIN_COMPONENTS = {
  Dashboard: 'IaDashboard',
  RecordConfirm: 'IaRecordConfirm',
  BulkConfirm: 'IaBulkConfirm',
} as const;

type Child = unknown;
type Props = Record<string, unknown> | null;
type Component = (props: never) => Child;

interface ReactGlobal {
  createElement(type: unknown, props?: Props, ...children: Child[]): Child;
  useState<T>(initial: T): [T, (value: T) => void];
  useEffect(effect: () => void, deps: unknown[]): void;
}

interface ApiResponse<T> {
  data: T;
}

interface ApiClient {
  getDashboard(): Promise<ApiResponse<DashboardData>>;
  recordAction(options: {
    resourceId: string;
    recordId: string;
    actionName: string;
    data: Record<string, unknown>;
  }): Promise<ApiResponse<unknown>>;
  bulkAction(options: {
    resourceId: string;
    recordIds: string[];
    actionName: string;
    data: Record<string, unknown>;
  }): Promise<ApiResponse<unknown>>;
}

interface AdminJSGlobal {
  ApiClient: new () => ApiClient;
  ViewHelpers: new () => { showUrl(resourceId: string, recordId: string): string };
  UserComponents: Record<string, Component>;
  useActionResponseHandler(): (response: ApiResponse<unknown>) => void;
  useNotice(): (notice: { message: string; type: 'success' | 'error' | 'info' }) => void;
}

interface RecordJSON {
  id: string;
  title: string;
  params: Record<string, unknown>;
}

interface ActionProps {
  action: { name: string; custom?: { label?: string; withNotes?: boolean } };
  resource: { id: string };
  record?: RecordJSON;
  records?: RecordJSON[];
}

type Counts = Record<string, number>;

interface DashboardData {
  images: Counts;
  posts: Record<string, number | Counts>;
  users: Record<string, number | Counts>;
  queues: Record<string, Counts>;
  latest_failures: {
    posts: {
      id: number;
      username: string;
      platform: string;
      error_code: string | null;
      error_message: string;
      updated_at: string;
    }[];
    images: {
      id: number;
      username: string;
      prompt: string;
      error_message: string;
      updated_at: string;
    }[];
  };
  generated_at: string;
}

declare const React: ReactGlobal;
declare const AdminJS: AdminJSGlobal;
declare const AdminJSDesignSystem: Record<string, unknown>;

export function registerAdminComponents(): void {
  const h = React.createElement;
  const DS = AdminJSDesignSystem;
  const api = new AdminJS.ApiClient();
  const urls = new AdminJS.ViewHelpers();

  const errorText = (error: unknown): string =>
    error instanceof Error ? error.message : String(error);

  const figure = (label: string, value: unknown, testId: string) =>
    h(
      DS.Box,
      { key: label, mr: 'xl', mb: 'lg', 'data-testid': testId },
      h(DS.Text, { variant: 'sm', color: 'grey60' }, label),
      h(DS.Text, { fontSize: 'xl', fontWeight: 'bold' }, String(value)),
    );

  const card = (title: string, testId: string, ...children: Child[]) =>
    h(
      DS.Box,
      {
        variant: 'card',
        mb: 'xl',
        mr: 'xl',
        flex: true,
        flexDirection: 'column',
        style: { minWidth: '300px' },
        'data-testid': testId,
      },
      h(DS.H4, { mb: 'lg' }, title),
      h(DS.Box, { flex: true, flexDirection: 'row', flexWrap: 'wrap' }, ...children),
    );

  const table = (testId: string, headers: string[], rows: Child[][]) =>
    h(
      DS.Table,
      { 'data-testid': testId },
      h(
        DS.TableHead,
        null,
        h(DS.TableRow, null, ...headers.map((label) => h(DS.TableCell, { key: label }, label))),
      ),
      h(
        DS.TableBody,
        null,
        ...rows.map((cells, index) =>
          h(
            DS.TableRow,
            { key: index },
            ...cells.map((cell, column) => h(DS.TableCell, { key: column }, cell)),
          ),
        ),
      ),
    );

  const when = (iso: string) => new Date(iso).toLocaleString();

  /** A card listing the latest failures of one resource: a link to each record, its cells, when. */
  const failureCard = (
    title: string,
    testId: string,
    headers: string[],
    resource: string,
    rows: { id: number; updatedAt: string; cells: Child[] }[],
  ) =>
    card(
      title,
      testId,
      h(
        DS.Box,
        { width: 1 },
        rows.length === 0
          ? h(DS.Text, null, 'None.')
          : table(
              `${testId}-table`,
              headers,
              rows.map((row) => [
                h(DS.Link, { href: urls.showUrl(resource, String(row.id)) }, `#${row.id}`),
                ...row.cells,
                when(row.updatedAt),
              ]),
            ),
      ),
    );

  function Dashboard(): Child {
    const [data, setData] = React.useState<DashboardData | null>(null);
    const [error, setError] = React.useState<string | null>(null);
    React.useEffect(() => {
      api
        .getDashboard()
        .then((response) => setData(response.data))
        .catch((reason: unknown) => setError(errorText(reason)));
    }, []);
    if (error) return h(DS.MessageBox, { m: 'xl', variant: 'danger', message: error });
    if (!data) return h(DS.Loader, null);
    const { images, posts, users, queues, latest_failures: failures } = data;
    const byPlatform = posts.posts_by_platform as Counts;
    const accounts = users.accounts_by_status as Counts;
    return h(
      DS.Box,
      { p: 'xl', 'data-testid': 'ia-dashboard' },
      h(DS.H2, { mb: 'xl' }, 'Image Automation: every user'),
      h(
        DS.Box,
        { flex: true, flexDirection: 'row', flexWrap: 'wrap' },
        card(
          'Images',
          'ia-dashboard-images',
          figure('Total', images.total_images, 'ia-images-total'),
          figure('Pending', images.pending_images, 'ia-images-pending'),
          figure('Generating', images.generating_images, 'ia-images-generating'),
          figure('Generated', images.generated_images, 'ia-images-generated'),
          figure('Validated', images.validated_images, 'ia-images-validated'),
          figure('Rejected', images.rejected_images, 'ia-images-rejected'),
          figure('Failed', images.failed_images, 'ia-images-failed'),
          figure('Average generation (s)', images.average_generation_time, 'ia-images-avg'),
        ),
        card(
          'Posts',
          'ia-dashboard-posts',
          figure('Scheduled', posts.total_scheduled, 'ia-posts-scheduled'),
          figure('Upcoming', posts.upcoming_posts, 'ia-posts-upcoming'),
          figure('Posted', posts.total_posted, 'ia-posts-posted'),
          figure('Failed', posts.total_failed, 'ia-posts-failed'),
          figure('Cancelled', posts.total_cancelled, 'ia-posts-cancelled'),
          figure('Average engagement (%)', posts.average_engagement_rate, 'ia-posts-engagement'),
          ...Object.keys(byPlatform).map((platform) =>
            figure(platform, byPlatform[platform], `ia-posts-platform-${platform}`),
          ),
        ),
        card(
          'Users',
          'ia-dashboard-users',
          figure('Users', users.total_users, 'ia-users-total'),
          figure('Active', users.active_users, 'ia-users-active'),
          figure('Staff', users.staff_users, 'ia-users-staff'),
          ...Object.keys(accounts).map((status) =>
            figure(`Accounts ${status}`, accounts[status], `ia-accounts-${status}`),
          ),
        ),
      ),
      card(
        'Queues',
        'ia-dashboard-queues',
        h(
          DS.Box,
          { width: 1 },
          table(
            'ia-queues-table',
            ['Queue', 'Waiting', 'Active', 'Delayed', 'Failed'],
            Object.keys(queues).map((name) => [
              name,
              queues[name].waiting,
              queues[name].active,
              queues[name].delayed,
              queues[name].failed,
            ]),
          ),
          h(
            DS.Box,
            { mt: 'lg' },
            h(
              DS.Link,
              { href: '/admin/queues', 'data-testid': 'ia-queue-board-link' },
              'Queue board',
            ),
          ),
        ),
      ),
      failureCard(
        'Latest failed posts',
        'ia-failed-posts',
        ['Post', 'User', 'Platform', 'Error', 'When'],
        'ScheduledPost',
        failures.posts.map((post) => ({
          id: post.id,
          updatedAt: post.updated_at,
          cells: [
            post.username,
            post.platform,
            `${post.error_code ?? ''} ${post.error_message}`.trim(),
          ],
        })),
      ),
      failureCard(
        'Latest failed images',
        'ia-failed-images',
        ['Image', 'User', 'Prompt', 'Error', 'When'],
        'GeneratedImage',
        failures.images.map((image) => ({
          id: image.id,
          updatedAt: image.updated_at,
          cells: [image.username, image.prompt, image.error_message],
        })),
      ),
      h(DS.Text, { variant: 'sm', color: 'grey60' }, `As of ${when(data.generated_at)}`),
    );
  }

  /** One record: confirm (with optional notes), then POST the action. */
  function RecordConfirm(props: ActionProps): Child {
    const { action, resource, record } = props;
    const custom = action.custom ?? {};
    const [notes, setNotes] = React.useState('');
    const [busy, setBusy] = React.useState(false);
    const handleResponse = AdminJS.useActionResponseHandler();
    const addNotice = AdminJS.useNotice();
    if (!record) return h(DS.Loader, null);
    const submit = () => {
      setBusy(true);
      api
        .recordAction({
          resourceId: resource.id,
          recordId: record.id,
          actionName: action.name,
          data: custom.withNotes ? { notes } : {},
        })
        .then(handleResponse)
        .catch((reason: unknown) => addNotice({ message: errorText(reason), type: 'error' }))
        .finally(() => setBusy(false));
    };
    return h(
      DS.Box,
      { variant: 'card', 'data-testid': 'ia-record-confirm' },
      h(DS.H4, { mb: 'lg' }, `${custom.label ?? action.name}: ${record.title}`),
      h(DS.Text, { mb: 'lg' }, `Status now: ${String(record.params.status ?? '')}`),
      custom.withNotes
        ? h(
            DS.Box,
            { mb: 'lg' },
            h(DS.Label, { htmlFor: 'ia-notes' }, 'Notes (optional)'),
            h(DS.TextArea, {
              id: 'ia-notes',
              name: 'notes',
              width: 1,
              rows: 4,
              maxLength: 1000,
              value: notes,
              onChange: (event: { target: { value: string } }) => setNotes(event.target.value),
            }),
          )
        : null,
      h(
        DS.Button,
        {
          variant: 'contained',
          disabled: busy,
          onClick: submit,
          'data-testid': 'ia-confirm',
        },
        custom.label ?? 'Confirm',
      ),
    );
  }

  /** Several records (the list's selection): show them, then POST the bulk action. */
  function BulkConfirm(props: ActionProps): Child {
    const { action, resource, records = [] } = props;
    const [busy, setBusy] = React.useState(false);
    const handleResponse = AdminJS.useActionResponseHandler();
    const addNotice = AdminJS.useNotice();
    const submit = () => {
      setBusy(true);
      api
        .bulkAction({
          resourceId: resource.id,
          recordIds: records.map((record) => record.id),
          actionName: action.name,
          data: {},
        })
        .then(handleResponse)
        .catch((reason: unknown) => addNotice({ message: errorText(reason), type: 'error' }))
        .finally(() => setBusy(false));
    };
    return h(
      DS.Box,
      { variant: 'card', 'data-testid': 'ia-bulk-confirm' },
      h(
        DS.H4,
        { mb: 'lg' },
        `${action.custom?.label ?? action.name}: ${records.length} ${records.length === 1 ? 'record' : 'records'}`,
      ),
      table(
        'ia-bulk-records',
        ['Id', 'Record', 'Status'],
        records.map((record) => [record.id, record.title, String(record.params.status ?? '')]),
      ),
      h(
        DS.Box,
        { mt: 'lg' },
        h(
          DS.Button,
          {
            variant: 'contained',
            disabled: busy || records.length === 0,
            onClick: submit,
            'data-testid': 'ia-confirm',
          },
          action.custom?.label ?? 'Confirm',
        ),
      ),
    );
  }

  AdminJS.UserComponents.IaDashboard = Dashboard;
  AdminJS.UserComponents.IaRecordConfirm = RecordConfirm as Component;
  AdminJS.UserComponents.IaBulkConfirm = BulkConfirm as Component;
}

/** The script served as AdminJS's components.bundle.js. */
export const COMPONENTS_BUNDLE = `(${registerAdminComponents.toString()})();\n`;
