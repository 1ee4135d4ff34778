import { describe, expect, it } from '@jest/globals';
import { ADMIN_COMPONENTS, COMPONENTS_BUNDLE } from './admin-components.js';

/**
 * The bundle is the compiled text of one function, run in the browser with AdminJS's globals
 * only. Evaluated here against stand-ins of those globals: it must register every component id
 * the resource options name, and render without reaching for anything of this module.
 */
function loadBundle() {
  const userComponents: Record<string, (props: unknown) => unknown> = {};
  const element = (type: unknown, props: unknown, ...children: unknown[]) => ({
    type,
    props,
    children,
  });
  const react = {
    createElement: element,
    useState: (initial: unknown) => [initial, () => undefined],
    useEffect: () => undefined,
  };
  class ApiClient {
    getDashboard = () => new Promise(() => undefined);
  }
  class ViewHelpers {
    showUrl = (resource: string, id: string) => `/admin/resources/${resource}/records/${id}/show`;
  }
  const adminJs = {
    ApiClient,
    ViewHelpers,
    UserComponents: userComponents,
    useActionResponseHandler: () => () => undefined,
    useNotice: () => () => undefined,
  };
  const designSystem = new Proxy({}, { get: (_target, name) => `DS.${String(name)}` });
  new Function('React', 'AdminJS', 'AdminJSDesignSystem', COMPONENTS_BUNDLE)(
    react,
    adminJs,
    designSystem,
  );
  return userComponents;
}

describe('the prebuilt admin components', () => {
  it('registers every component the panel names, and nothing else', () => {
    expect(Object.keys(loadBundle()).sort()).toEqual(Object.values(ADMIN_COMPONENTS).sort());
  });

  it('renders each component with only the browser globals', () => {
    const components = loadBundle();
    expect(components[ADMIN_COMPONENTS.Dashboard]({})).toMatchObject({ type: 'DS.Loader' });
    const record = { id: '7', title: 'A lighthouse', params: { status: 'generated' } };
    const confirm = components[ADMIN_COMPONENTS.RecordConfirm]({
      action: { name: 'validateImage', custom: { label: 'Validate', withNotes: true } },
      resource: { id: 'GeneratedImage' },
      record,
    });
    expect(JSON.stringify(confirm)).toContain('Validate: A lighthouse');
    expect(JSON.stringify(confirm)).toContain('ia-notes');
    const bulk = components[ADMIN_COMPONENTS.BulkConfirm]({
      action: { name: 'bulkReject', custom: { label: 'Reject' } },
      resource: { id: 'GeneratedImage' },
      records: [record],
    });
    expect(JSON.stringify(bulk)).toContain('Reject: 1 record');
  });
});
