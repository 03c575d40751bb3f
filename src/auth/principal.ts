import type { Permission, Scope } from './permissions.js';

/** Who is making a request, after authentication. */
export interface Principal {
  kind: 'key';
  /** Tenant whose data the request acts on. */
  tenant: string;
  keyId: string;
  /** Shown in logs and audit entries instead of the key. */
  keyPrefix: string;
  scopes: Scope[];
  permissions: Set<Permission>;
  /** An admin of the system tenant manages every tenant. */
  superuser: boolean;
}

export function actorOf(p: Principal | undefined): string {
  return p ? `key:${p.keyPrefix}` : 'anonymous';
}
