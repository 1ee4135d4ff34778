import type { AdminJSOptions } from 'adminjs';
import type { AdminDashboard } from './admin-dashboard.service.js';
import { adminResources, type AdminServices } from './admin-resources.js';
import { ADMIN_COMPONENTS } from './frontend/admin-components.js';

export const ADMIN_ROOT_PATH = '/admin';

/** The AdminJS configuration: resources, dashboard, branding and the wording we change. */
export function adminJsOptions(
  services: AdminServices & { dashboard: AdminDashboard },
): AdminJSOptions {
  return {
    rootPath: ADMIN_ROOT_PATH,
    loginPath: `${ADMIN_ROOT_PATH}/login`,
    logoutPath: `${ADMIN_ROOT_PATH}/logout`,
    resources: adminResources(services),
    dashboard: {
      component: ADMIN_COMPONENTS.Dashboard,
      handler: () => services.dashboard.snapshot(),
    },
    branding: {
      companyName: 'Image Automation',
      // The name instead of AdminJS's logo.
      logo: false,
      withMadeWithLove: false,
    },
    version: { admin: false },
    settings: { defaultPerPage: 20 },
    locale: {
      language: 'en',
      availableLanguages: ['en'],
      localeDetection: false,
      translations: {
        en: {
          components: {
            Login: {
              welcomeHeader: 'Image Automation',
              welcomeMessage: 'Administration, for staff accounts.',
              properties: { email: 'Username or email' },
            },
          },
          messages: {
            invalidCredentials: 'Wrong username or password, or not a staff account.',
          },
          // The foreign keys show the record they point to: name them after it.
          properties: {
            userId: 'User',
            imageId: 'Image',
            accountId: 'Account',
            familyId: 'Token family',
            scheduledPostId: 'Post',
            scheduleId: 'Schedule',
          },
          resources: {
            SocialAccount: { properties: { accountId: 'Platform account id' } },
          },
          actions: {
            validateImage: 'Validate',
            rejectImage: 'Reject',
            bulkValidate: 'Validate',
            bulkReject: 'Reject',
            cancelPost: 'Cancel',
            publishNow: 'Publish now',
          },
        },
      },
    },
  };
}
