import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { adapters, startApp, type TestApp } from './app/harness.js';
import { Probe } from './app/probe.js';
import { LateRoles, ReportsController, RolesGuard, ScopedReportsController } from './app/roles.js';

describe.each(adapters)('route metadata defined after start-up, on %s', (adapter) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startApp(adapter, {
      controllers: [ReportsController, ScopedReportsController],
      providers: [Probe, RolesGuard, LateRoles],
    });
  });
  afterEach(() => t.app.close());

  it('a route without role metadata is public for the guard', async () => {
    await t.http.get('/roles/open').expect(200, { open: true });
  });

  it.each([
    ['a singleton controller', '/roles/report', 'report'],
    ['a request-scoped controller', '/scoped-roles/report', 'scoped-report'],
  ])('%s: the guard reads roles set in onModuleInit: 403 without the role, 200 with it', async (_kind, path, event) => {
    await t.http.get(path).expect(403);
    await t.http.get(path).set('x-role', 'guest').expect(403);
    await t.http.get(path).set('x-role', 'admin').expect(200, { report: true });
    await t.tasks.onIdle();
    // The handler ran once, through the tracked route: its afterResponse task ran.
    expect(t.get(Probe).events).toEqual([`${event}:afterResponse`]);
  });
});
