/** `keel/v1 Channel`: a shared destination (a team's Slack channel, a chat-ops webhook) that escalation steps notify. */
import type { z } from 'zod';
import type { KindHandler } from '../../definitions/kinds.js';
import { specParser, type WithMetadata } from '../../definitions/spec-parser.js';
import { loadSecretNames, missingSecrets } from './secret-references.js';
import { targetSchema, type Target } from './targets.js';

export type ChannelSpec = WithMetadata<z.output<typeof targetSchema>>;

export function channelKind(): KindHandler<ChannelSpec> {
  return {
    apiVersions: ['keel/v1'],
    kind: 'Channel',
    order: 3,
    parse: specParser(targetSchema),
    load: loadSecretNames,
    validate: (spec, _name, ctx) => missingSecrets(spec as Target, ['spec'], ctx, 'Channel'),
    validateDelete: (name, ctx) => {
      const users = ctx.all('EscalationPolicy').filter((d) => ((d.spec as { steps?: { notify: { channels?: string[] } }[] }).steps ?? []).some((s) => s.notify.channels?.includes(name)));
      return users.length ? [{ path: [], message: `Channel ${name} is used by EscalationPolicy ${users.map((u) => u.name).join(', ')}` }] : [];
    },
  };
}
