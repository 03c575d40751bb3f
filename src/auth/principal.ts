import type { Role } from '../people/people-service.js';
import type { Permission, Scope } from './permissions.js';

interface PrincipalBase {
  /** Tenant (team) whose data the request acts on. */
  tenant: string;
  permissions: Set<Permission>;
  /** An admin of the system tenant manages every tenant. */
  superuser: boolean;
  /** How audit entries and logs name the caller: `key:<prefix>` or `user:<email>`. */
  actor: string;
}

/** A request made with an API key. */
export interface KeyPrincipal extends PrincipalBase {
  kind: 'key';
  keyId: string;
  /** Shown in logs and audit entries instead of the key. */
  keyPrefix: string;
  scopes: Scope[];
}

/** A signed-in person acting on one of their teams. */
export interface UserPrincipal extends PrincipalBase {
  kind: 'user';
  userId: string;
  email: string;
  role: Role;
  /** Id (hash) of the session the request came with. */
  sessionId: string;
}

/** Who is making a request, after authentication. */
export type Principal = KeyPrincipal | UserPrincipal;

export function actorOf(p: Principal | undefined): string {
  return p ? p.actor : 'anonymous';
}
