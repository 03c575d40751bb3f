/** `keel demo`: see Keel work in five minutes (src/cli/demo.ts does the work through the API). */
import type { Command } from 'commander';
import { nonNegativeNumber, port, positiveInt } from '../args.js';
import { globals } from '../context.js';
import { runDemo, type Demo } from '../demo.js';
import { printJson } from '../output.js';

interface DemoOpts {
  dataDir?: string;
  port?: number;
  outageAfter: number;
  rate: number;
  timeout: number;
  exit?: boolean;
}

function summary(d: Demo, incident: { id: string; number: number; title: string } | undefined) {
  const ann = d.people[0]!;
  return {
    console: `${d.url}/`,
    team: d.team,
    sign_in: { email: ann.email, password: ann.password },
    people: d.people.map((p) => ({ email: p.email, role: p.role, password: p.password })),
    incident: incident ? { ...incident, url: `${d.url}/incidents/${encodeURIComponent(incident.id)}?team=${d.team}` } : null,
    pages: d.pages,
    receiver: d.receiverUrl,
    data_dir: d.dataDir ?? null,
    team_key: d.teamKey,
  };
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('See Keel work: a demo team, people, schedule, paging to a local webhook receiver, SLOs, traffic and an outage that pages someone')
    .option('-d, --data-dir <dir>', 'data directory of the Keel the demo starts (default: a fresh temporary one); ignored with --url')
    .option('-p, --port <port>', 'port of the Keel the demo starts (default: a free one)', port)
    .option('--outage-after <s>', 'seconds of healthy traffic before payments start failing', nonNegativeNumber, 20)
    .option('--rate <events/s>', 'live events per second', positiveInt, 20)
    .option('--timeout <s>', 'give up when no incident opened this long after the outage', nonNegativeNumber, 180)
    .option('--exit', 'stop once the incident is open (default: keep the traffic, the receiver and the Keel it started running until Ctrl-C)')
    .addHelpText('after', '\nWithout --url (or KEEL_URL) the demo starts its own Keel; against a running Keel it needs an admin key of the system team (--api-key or KEEL_API_KEY).')
    .action(async (opts: DemoOpts, cmd: Command) => {
      const g = globals(cmd);
      const explicitUrl = (cmd.optsWithGlobals() as { url?: string }).url ?? process.env.KEEL_URL;
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const demo = await runDemo({
        ...(explicitUrl ? { url: explicitUrl, ...(g.apiKey ? { apiKey: g.apiKey } : {}) } : {}),
        ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
        ...(opts.port ? { port: opts.port } : {}),
        outageAfterMs: opts.outageAfter * 1000,
        rate: opts.rate,
        log,
      });
      // Stopped early (Ctrl-C, a signal): the Keel it started and the receiver stop with it.
      let interrupted: (() => void) | undefined;
      const onSignal = () => {
        if (interrupted) return interrupted();
        void demo.stop().then(() => process.exit(130));
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      let incident: { id: string; number: number; title: string } | undefined;
      try {
        log(`waiting for the outage (in ${Math.max(0, Math.round((demo.outageAt - Date.now()) / 1000))} s) to burn the SLO and page someone …`);
        incident = await demo.incident(opts.timeout * 1000 + Math.max(0, demo.outageAt - Date.now()));
        // The page follows the incident within a poll interval.
        const deadline = Date.now() + 15_000;
        while (!demo.pages.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      } catch (e) {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await demo.stop();
        throw e;
      }
      const s = summary(demo, incident);
      if (g.json) printJson(s);
      else {
        process.stdout.write(
          [
            '',
            `The SLO checkout-availability is burning, its page alert fired, ${demo.pages[0]?.to ?? 'the person on call'} was paged and incident #${incident.number} is open.`,
            '',
            `  Console:   ${s.console}`,
            `  Sign in:   ${s.sign_in.email}  /  ${s.sign_in.password}   (team ${demo.team})`,
            `  Incident:  ${s.incident!.url}`,
            '',
            'What to click:',
            '  1. Now: you are on call, and the incident waits for your acknowledgement.',
            '  2. The incident: see who was paged and how the delivery went; press Acknowledge (escalation stops).',
            '  3. SLOs → checkout-availability: the budget burning, burn rates, and eu-west /api/pay as the top offender.',
            '  4. Alerts: the firing page alert; silence it. On-call: take a shift.',
            '  5. Resolve the incident and draft its postmortem (it shows the error budget the outage cost).',
            `Other people: ${demo.people
              .slice(1)
              .map((p) => `${p.email} (${p.role}) / ${p.password}`)
              .join(', ')}`,
            '',
          ].join('\n'),
        );
      }
      if (!opts.exit) {
        log('traffic keeps flowing; press Ctrl-C to stop the demo');
        await new Promise<void>((resolve) => (interrupted = resolve));
      }
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await demo.stop();
    });
}
