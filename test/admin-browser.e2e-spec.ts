import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type Browser, chromium, type Page } from 'playwright-core';
import { ENTITIES } from '@app/database';
import { insertImages } from './factories/image.factory.js';
import { registerUser, type RegisteredUser } from './factories/user.factory.js';
import { connectAccount, schedulePostIn1h, staffUser } from './support/admin.js';
import { dropScratchDatabase, migratedScratchDatabase } from './support/scratch-database.js';
import { ROOT } from './support/spawn.js';
import { createTestApp, type TestApp } from './support/test-app.js';

/**
 * The panel in Debian's Chromium, driven by playwright-core, as a staff member uses it. Offline:
 * the only outside request, AdminJS's Google Fonts stylesheet, fails at once and changes nothing.
 * The tests run in order on one signed-in page. Screenshots: test-artifacts/admin-screenshots/.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOTS = path.join(ROOT, 'test-artifacts', 'admin-screenshots');
const GROUP_OF: Record<string, string> = {
  User: 'Users',
  Profile: 'Users',
  TokenFamily: 'Users',
  RefreshToken: 'Users',
  SentMail: 'Users',
  PasswordResetToken: 'Users',
  GeneratedImage: 'Images',
  ImageTag: 'Images',
  ImageGenerationHistory: 'Images',
  UserImageStats: 'Images',
  OutboxEvent: 'Events',
  WebhookEndpoint: 'Webhooks',
  WebhookDelivery: 'Webhooks',
};
const groupOf = (resourceId: string) => GROUP_OF[resourceId] ?? 'Scheduler';

describe('administration in a browser', () => {
  let database: string;
  let app: TestApp;
  let browser: Browser;
  let page: Page;
  let staff: RegisteredUser;
  let owner: RegisteredUser;
  let imageId: number;
  let postId: number;
  const url = (pathname: string) => `${app.config.publicBaseUrl}${pathname}`;
  const shot = (name: string) => page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    database = await migratedScratchDatabase('ia_admin_browser');
    app = await createTestApp({ DATABASE_URL: database }, { listen: true });
    staff = await staffUser(app);
    owner = await registerUser(app);
    [imageId] = await insertImages(app, owner.id, [
      { status: 'generated', prompt: 'A lighthouse in the fog' },
      { status: 'failed', prompt: 'A storm the provider refused' },
    ]);
    const [postImage] = await insertImages(app, owner.id, [
      { status: 'validated', prompt: 'A harbour at dawn' },
    ]);
    postId = await schedulePostIn1h(app, owner, postImage, await connectAccount(app, owner));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.setDefaultTimeout(20_000);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await dropScratchDatabase(database);
  });

  it('signs a staff member in and shows the all-users dashboard', async () => {
    await page.goto(url('/admin'));
    expect(new URL(page.url()).pathname).toBe('/admin/login');
    await page.fill('input[name=email]', staff.username);
    await page.fill('input[name=password]', staff.password);
    await shot('01-sign-in');
    await Promise.all([page.waitForURL(url('/admin')), page.click('form button')]);
    const dashboard = page.getByTestId('ia-dashboard');
    await dashboard.waitFor();
    await expect(page.getByTestId('ia-images-total').textContent()).resolves.toContain('3');
    await expect(page.getByTestId('ia-images-failed').textContent()).resolves.toContain('1');
    await expect(page.getByTestId('ia-posts-scheduled').textContent()).resolves.toContain('1');
    await expect(page.getByTestId('ia-failed-images-table').textContent()).resolves.toContain(
      'A storm the provider refused',
    );
    await shot('02-dashboard');
  }, 60_000);

  it('opens every resource list from the navigation', async () => {
    const sidebar = page.locator('[data-css="sidebar-resources"]');
    const opened = new Set<string>();
    for (const entity of ENTITIES) {
      const id = entity.name;
      const link = sidebar.locator(`a[href="/admin/resources/${id}"]`);
      if (!(await link.isVisible())) {
        await sidebar.getByText(groupOf(id), { exact: true }).click();
      }
      await link.click();
      await page.waitForURL(url(`/admin/resources/${id}`));
      await page.locator(`[data-css="${id}-list"]`).waitFor();
      await shot(`10-list-${id}`);
      opened.add(id);
    }
    expect([...opened].sort()).toEqual(ENTITIES.map((entity) => entity.name).sort());
    await page.goto(url('/admin/resources/GeneratedImage'));
    const rows = page.locator('[data-css="GeneratedImage-table-row"]');
    // The list arrives by XHR after the page: wait for its rows before counting them.
    await rows.first().waitFor();
    await expect(rows.count()).resolves.toBe(3);
  }, 120_000);

  it('validates an image through its action, with notes, as the owner’s service call', async () => {
    await page.goto(url(`/admin/resources/GeneratedImage/records/${imageId}/show`));
    await page.getByTestId('action-validateImage').click();
    await page.getByTestId('ia-record-confirm').waitFor();
    await page.fill('#ia-notes', 'Approved from the panel');
    await shot('20-validate-image');
    await page.getByTestId('ia-confirm').click();
    await page.getByText(`Image ${imageId} validated.`).waitFor();
    await shot('21-image-validated');
    const [row] = await app.dataSource.query(
      'SELECT status, validation_notes FROM generated_images WHERE id = $1',
      [imageId],
    );
    expect(row).toEqual({ status: 'validated', validation_notes: 'Approved from the panel' });
    const history = await app.dataSource.query(
      `SELECT user_id, action FROM image_generation_history WHERE image_id = $1`,
      [imageId],
    );
    expect(history).toEqual([{ user_id: owner.id, action: 'validate' }]);
  }, 60_000);

  it('cancels a post through its action', async () => {
    await page.goto(url(`/admin/resources/ScheduledPost/records/${postId}/show`));
    await page.getByTestId('action-cancelPost').click();
    await page.getByTestId('ia-record-confirm').waitFor();
    await shot('30-cancel-post');
    await page.getByTestId('ia-confirm').click();
    await page.getByText(`Post ${postId} cancelled.`).waitFor();
    await shot('31-post-cancelled');
    const [row] = await app.dataSource.query(
      'SELECT status, version FROM scheduled_posts WHERE id = $1',
      [postId],
    );
    expect(row).toEqual({ status: 'cancelled', version: 2 });
  }, 60_000);

  it('shows the queue board with the same session', async () => {
    await page.goto(url('/admin/queues'));
    await page.getByText('posts', { exact: true }).first().waitFor();
    await shot('40-queue-board');
    expect(new URL(page.url()).pathname).toMatch(/^\/admin\/queues/);
  }, 60_000);
});
