/** Definitions as code: the plan/apply/versions routes (the service itself is in `CoreContext`). */
import type { CoreContext, KeelModule } from '../module/context.js';
import { definitionRoutes } from './routes.js';

export function definitionsModule(ctx: CoreContext): KeelModule {
  return { name: 'definitions', routes: definitionRoutes({ definitions: ctx.definitions }) };
}
