/**
 * The domain modules of a running Keel, in start order. A new domain adds one line here.
 */
import type { CoreContext, KeelModule } from '../core/context.js';
import { capacityModule } from '../capacity/module.js';
import { servicesModule } from '../services/module.js';

export function domainModules(ctx: CoreContext): KeelModule[] {
  return [servicesModule(ctx), capacityModule(ctx)];
}
