/**
 * The gauges Keel exports about itself for the alerts about Keel: TLS certificate expiry (the
 * certificate's notAfter, read by openssl here), the audit chain's validity (a row altered in
 * state.db while Keel was stopped turns it to 0), and the data directory's filesystem.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import SQLite from 'better-sqlite3';
import { Agent, request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { KEEL_BIN, freePort, spawnKeel } from '../../src/bench/spawn-keel.js';
import { http } from '../helpers/keel.js';
import { scrapeUntil } from './support/live-metrics.js';

const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'keel-selfwatch-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function sample(text: string, series: string): number | undefined {
  const m = new RegExp(`^${series.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

describe('Keel watches itself', () => {
  it('exports the expiry of its HTTPS certificate', async () => {
    const cert = join(work, 'cert.pem');
    const key = join(work, 'key.pem');
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30', '-subj', '/CN=localhost', '-keyout', key, '-out', cert]);
    const { stdout } = await run('openssl', ['x509', '-in', cert, '-noout', '-enddate']);
    const notAfter = Math.floor(Date.parse(stdout.trim().replace('notAfter=', '')) / 1000);
    const config = join(work, 'tls.yaml');
    const port = await freePort();
    writeFileSync(config, `server:\n  tls: { cert: ${cert}, key: ${key} }\n`);
    const dir = join(work, 'tls-data');
    const child = spawn(process.execPath, [KEEL_BIN, 'start', '--data-dir', dir, '--port', String(port), '--config', config], {
      env: { ...process.env, KEEL_LOG_LEVEL: 'warn', KEEL_BOOTSTRAP_KEY: 'keel_selfwatch_tls_key_0123456789' },
      stdio: 'ignore',
    });
    const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
    try {
      let text = '';
      for (let i = 0; i < 240 && !text; i++) {
        text = await request(`https://127.0.0.1:${port}/metrics`, { dispatcher }).then(
          (r) => r.body.text(),
          () => new Promise<string>((r) => setTimeout(() => r(''), 250)),
        );
      }
      expect(sample(text, 'keel_tls_certificate_expiry_timestamp_seconds{use="server"}')).toBe(notAfter);
    } finally {
      child.kill('SIGTERM');
      await dispatcher.close();
    }
  }, 120_000);

  it('exports the audit chain as valid, and as broken once an entry was altered', async () => {
    const keel = await spawnKeel({ keepDataDir: true });
    let dataDir = keel.dataDir;
    try {
      const created = await http(`${keel.url}/v1/keys`, { key: keel.adminKey, json: { tenant: 'default', scopes: ['read'], name: 'audited' } });
      expect(created.status).toBe(201);
      const ok = await scrapeUntil(keel.url, (s) => sample(s.text, 'keel_audit_chain_valid') !== undefined);
      expect(sample(ok.text, 'keel_audit_chain_valid')).toBe(1);
      expect(sample(ok.text, 'keel_audit_chain_verified_timestamp_seconds')).toBeGreaterThan(0);
      // The data directory's filesystem, as statfs reports it.
      const fs = statfsSync(dataDir);
      expect(sample(ok.text, 'keel_data_dir_size_bytes')).toBe(fs.blocks * fs.bsize);
      expect(sample(ok.text, 'keel_data_dir_free_bytes')).toBeGreaterThan(0);
      expect(sample(ok.text, 'keel_data_dir_free_bytes')).toBeLessThanOrEqual(fs.blocks * fs.bsize);
    } finally {
      await keel.stop();
    }
    const db = new SQLite(join(dataDir, 'state.db'));
    const changed = db.prepare("UPDATE audit_log SET action = action || '-altered' WHERE seq = (SELECT min(seq) FROM audit_log)").run();
    db.close();
    expect(changed.changes).toBe(1);
    const again = await spawnKeel({ dataDir, adminKey: 'unused_because_bootstrapped_0123456789' });
    dataDir = again.dataDir;
    try {
      const broken = await scrapeUntil(again.url, (s) => sample(s.text, 'keel_audit_chain_valid') !== undefined);
      expect(sample(broken.text, 'keel_audit_chain_valid')).toBe(0);
    } finally {
      await again.stop();
      again.cleanup();
    }
  }, 120_000);
});
