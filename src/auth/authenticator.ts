/** The server's view of authentication: API keys today; sessions and users plug in here. */
import type { Authenticator } from '../api/server.js';
import type { ApiKeyService } from './api-keys.js';
import { scopeFor } from './permissions.js';
import { actorOf } from './principal.js';

export function keyAuthenticator(keys: ApiKeyService): Authenticator {
  return {
    authenticate: (credential) => keys.authenticate(credential),
    describe: (permission) => `scope "${scopeFor(permission)}"`,
    actor: actorOf,
  };
}
