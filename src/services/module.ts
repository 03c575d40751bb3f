/** The service catalogue: registers the Service kind. */
import type { CoreContext, KeelModule } from '../module/context.js';
import { serviceKind } from './service-kind.js';

export function servicesModule(ctx: CoreContext): KeelModule {
  ctx.kinds.register(serviceKind());
  return { name: 'services' };
}
