/**
 * The web console served by Keel itself at `/` (same origin as the API, so the session cookie and
 * CSRF token work unchanged). Its routes only exist where the API does (the `api` role).
 */
import type { CoreContext, KeelModule } from '../module/context.js';
import { consoleRoutes } from './routes.js';
import { ConsoleFiles, defaultConsoleDir } from './static-files.js';

export function consoleModule(_ctx: CoreContext, dir = defaultConsoleDir()): KeelModule {
  return { name: 'console', routes: consoleRoutes(new ConsoleFiles(dir)) };
}
