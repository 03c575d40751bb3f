/**
 * Examples shown by `--help` of each command, kept in one table so every command has them without
 * each command file repeating the help plumbing. Keyed by the command path without `keel`.
 * A new command adds its line here (test/cli/help.test.ts fails for a leaf command without examples).
 */
import type { Command } from 'commander';

export const EXAMPLES: Record<string, string[]> = {
  demo: ['keel demo', 'keel demo --port 7070 --outage-after 60', 'keel demo --url http://127.0.0.1:7070 --api-key "$KEEL_API_KEY" --exit --json'],
  start: ['keel start', 'keel start --data-dir /var/lib/keel --port 7070 --host 0.0.0.0', 'keel start --role ingest --nats nats://nats-1:4222 --postgres postgres://keel@db/keel'],
  'keys create': ['keel keys create --tenant shop --scopes ingest,read --name collector', 'keel keys create --tenant shop --scopes admin'],
  'keys list': ['keel keys list', 'keel keys list --tenant shop --json'],
  'keys revoke': ['keel keys revoke 01J0Z3K4M5N6P7Q8R9S0T1V2W3'],
  'tenants list': ['keel tenants list', 'keel tenants list --json'],
  'tenants create': ['keel tenants create shop', 'keel tenants create shop --rate 5000 --burst 20000'],
  'tenants update': ['keel tenants update shop --rate 10000', 'keel tenants update shop --pause', 'keel tenants update shop --default-quota'],
  'events send': ['keel events send events.ndjson', 'zcat 2026-11-*.ndjson.gz | keel events send', 'keel events send --batch 5000 big.ndjson; keel events send --resume big.ndjson'],
  'events list': ['keel events list --from 2026-11-01 --to 2026-11-02', 'keel events list --from now-1h --limit 1000 > last-hour.ndjson'],
  'events tail': ['keel events tail', 'keel events tail --from-start | jq .status'],
  plan: ['keel plan -f slos/', 'keel plan -f keel.yaml --prune', 'keel get SLO checkout -o yaml | keel plan -f -'],
  apply: ['keel apply -f slos/', 'keel apply -f paging.yaml -f services.yaml', 'keel apply -f keel/ --prune'],
  get: ['keel get', 'keel get SLO', 'keel get SLO checkout-availability -o yaml > checkout.yaml'],
  delete: ['keel delete SLO checkout-availability', 'keel delete -f checkout.yaml'],
  history: ['keel history SLO checkout-availability', 'keel history Service web --json'],
  'users add': ['keel users add ann@example.com --role responder --name "Ann Lee"', 'echo "$PASSWORD" | keel users add bob@example.com --role admin --password-stdin'],
  'users list': ['keel users list', 'keel users list --team shop --json'],
  'users show': ['keel users show ann@example.com'],
  'users set-role': ['keel users set-role ann@example.com editor'],
  'users disable': ['keel users disable ann@example.com'],
  'users enable': ['keel users enable ann@example.com'],
  'users remove': ['keel users remove ann@example.com', 'keel users remove ann@example.com --team shop'],
  'users set-password': ['keel users set-password ann@example.com < password.txt'],
  'audit list': ['keel audit list --since 24h', 'keel audit list --since 2026-11-01 --action definitions.apply --json'],
  'audit export': ['keel audit export --since 30d -o audit-2026-11.jsonl'],
  'audit verify': ['keel audit verify', 'keel audit verify -f audit-2026-11.jsonl --anchor 1200:9f2c…'],
  'secrets status': ['keel secrets status', 'keel secrets status --json'],
  'secrets rotate': ['keel secrets rotate --new-key'],
  'sso list': ['keel sso list'],
  'sso set': ['keel sso set corp --issuer https://login.example.com --client-id keel --client-secret-stdin < secret.txt'],
  'sso remove': ['keel sso remove corp'],
  backup: ['keel backup keel-2026-11-15.backup'],
  restore: ['keel restore keel-2026-11-15.backup --data-dir /var/lib/keel'],
  'compliance report': ['keel compliance report --since 90d', 'keel compliance report --md -o soc2-evidence.md'],
  'slo list': ['keel slo list', 'keel slo list --json'],
  'slo status': ['keel slo status checkout-availability'],
  'slo series': ['keel slo series checkout-availability', 'keel slo series checkout-availability --from 7d --step 1h --json'],
  'slo alerts': ['keel slo alerts checkout-availability --limit 50'],
  'slo backfill status': ['keel slo backfill status', 'keel slo backfill status checkout-availability --watch'],
  'slo evaluate': ['keel slo evaluate'],
  'slo delete': ['keel slo delete checkout-availability'],
  'export prometheus-rules': ['keel export prometheus-rules -o keel-rules.yaml'],
  'incidents list': ['keel incidents list', 'keel incidents list --state all --service web --json'],
  'incidents show': ['keel incidents show 42'],
  'incidents declare': ['keel incidents declare --title "Checkout errors" --service web --severity SEV2', 'keel incidents declare --title "Game day" --no-page'],
  'incidents ack': ['keel incidents ack 42', 'keel incidents ack 42 -m "looking at the database"'],
  'incidents mitigate': ['keel incidents mitigate 42 -m "rolled back to v1.8"'],
  'incidents resolve': ['keel incidents resolve 42'],
  'incidents close': ['keel incidents close 42'],
  'incidents update': ['keel incidents update 42 --severity SEV1 --title "Checkout down"'],
  'incidents note': ['keel incidents note 42 failover to the replica started'],
  'incidents timeline': ['keel incidents timeline 42', 'keel incidents timeline 42 --type note,state'],
  'incidents notifications': ['keel incidents notifications 42'],
  'incidents roles': ['keel incidents roles 42 --commander ann@example.com --scribe bob'],
  'incidents postmortem': ['keel incidents postmortem 42 -o postmortem-42.md'],
  'incidents action add': ['keel incidents action add 42 --title "Alert on replica lag" --owner ann@example.com'],
  'incidents action list': ['keel incidents action list', 'keel incidents action list 42 --status open --owner ann@example.com'],
  'incidents action update': ['keel incidents action update 42 01J0Z3K4M5 --status done'],
  'incidents metrics': ['keel incidents metrics --from 2026-11-01', 'keel incidents metrics --from 90d --service web --json'],
  'oncall now': ['keel oncall now', 'keel oncall now --schedule primary --at now+12h'],
  'oncall shifts': ['keel oncall shifts primary', 'keel oncall shifts primary --at 2026-12-01 --until 2026-12-31'],
  'oncall override add': ['keel oncall override add primary --user bob --start 2026-12-24 --end 2026-12-27'],
  'oncall override list': ['keel oncall override list primary --all'],
  'oncall override remove': ['keel oncall override remove primary 01J0Z3K4M5'],
  'oncall feed': ['keel oncall feed --schedule primary', 'keel oncall feed --user ann@example.com'],
  'silences create': ['keel silences create -m alertname="DiskFull" -m env=~"dev|test" -d 2h -c "disk swap"'],
  'silences list': ['keel silences list'],
  'silences expire': ['keel silences expire disk-swap'],
  'integrations create': ['keel integrations create --type events-v2 --service web --name monitoring'],
  'integrations list': ['keel integrations list', 'keel integrations list --service web --all'],
  'integrations revoke': ['keel integrations revoke 01J0Z3K4M5'],
  'heartbeats list': ['keel heartbeats list'],
  'heartbeats ping': ['keel heartbeats ping nightly-backup --key "$HEARTBEAT_KEY"'],
  'paging secret set': ['keel paging secret set ops-slack-url --from-file slack-url.txt', 'echo "$URL" | keel paging secret set ops-slack-url'],
  'paging secret list': ['keel paging secret list'],
  'paging secret delete': ['keel paging secret delete ops-slack-url'],
  'paging smtp set': ['keel paging smtp set --host smtp.example.com --port 587 --require-tls --user keel --password-stdin --from "Keel <keel@example.com>" < smtp-password.txt'],
  'paging smtp show': ['keel paging smtp show'],
  'paging people': ['keel paging people', 'keel paging people --json'],
  'paging alerts': ['keel paging alerts', 'keel paging alerts --status firing --limit 50'],
  'paging route-test': ['keel paging route-test -l team=web -l alertname=HighErrorRate --severity critical'],
  usage: ['keel usage --step hour --from 2026-03-01T00:00:00Z', 'keel usage --tenant acme --totals --json'],
  doctor: ['keel doctor', 'keel doctor --url http://keel-api:7070 --strict'],
  'verify counts': ['keel verify counts', 'keel verify counts --since 2026-03-01T10:00:00Z --json', 'keel verify counts --since 6h'],
  'bench paging': ['keel bench paging --alerts 1000 --concurrency 50'],
  'bench ingest': [
    'keel bench ingest --duration 10',
    'keel bench ingest --rate 174000 --connections 16',
    'keel bench ingest --tenants 1000 --batch 100',
    'keel bench ingest --mode distributed --nats nats://127.0.0.1:4222 --postgres postgres://postgres@127.0.0.1:5432/test --scaling',
  ],
  'bench security': ['keel bench security --duration 10'],
  'bench history': ['keel bench history', 'keel bench history --alerts 20000 --incidents 2000 --json'],
  'bench slo': ['keel bench slo --slos 100 --rate 20000', 'keel bench slo --no-freshness --shape fleet --slos 10000'],
  'bench slo-eval': ['keel bench slo-eval --slos 1000', 'keel bench slo-eval --slos 10000 --events 100 --json'],
  completion: ['keel completion bash > /etc/bash_completion.d/keel', 'keel completion zsh > "${fpath[1]}/_keel"', 'keel completion fish > ~/.config/fish/completions/keel.fish'],
};

/** The command's path without the program name: `incidents action add`. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Adds an "Examples:" section to the help of every command the table knows. */
export function addExamples(cmd: Command): void {
  const examples = EXAMPLES[commandPath(cmd)];
  if (examples) cmd.addHelpText('after', `\nExamples:\n${examples.map((e) => `  ${e}`).join('\n')}\n`);
  for (const c of cmd.commands) addExamples(c);
}
