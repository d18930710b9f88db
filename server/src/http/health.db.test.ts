import { request } from '../../../test/helpers/contract';
import { useTestDatabase } from '../../../test/helpers/db';
import { testService } from '../../../test/helpers/service';

useTestDatabase();

describe('GET /metrics', () => {
  it('is open when no METRICS_TOKEN is set (development)', async () => {
    const res = await request(testService().app).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.text).toContain('# HELP');
  });

  it('answers only the configured bearer token when METRICS_TOKEN is set', async () => {
    const { app } = testService({ METRICS_TOKEN: 'metrics-token-0123456789' });
    const none = await request(app).get('/metrics');
    expect(none.status).toBe(401);
    expect(none.text).not.toContain('# HELP');
    expect((await request(app).get('/metrics').set('authorization', 'Bearer wrong-token-0123456789')).status).toBe(401);
    const ok = await request(app).get('/metrics').set('authorization', 'Bearer metrics-token-0123456789');
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('# HELP');
  });
});
