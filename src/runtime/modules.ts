/**
 * The domain modules of a running Keel, in start order. A new domain adds one line here.
 */
import type { CoreContext, KeelModule } from '../core/context.js';

export function domainModules(_ctx: CoreContext): KeelModule[] {
  return [];
}
