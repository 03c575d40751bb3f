/** HTTP route of the people who can be paged: users, contact methods and notification rules. */
import { defineRoute, type AnyRoute } from '../../api/route.js';
import type { NotifyRouteDeps } from './route-deps.js';
import { peopleSchema } from './schemas.js';

export function peopleRoutes({ queries }: Pick<NotifyRouteDeps, 'queries'>): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/paging/people',
      summary: 'People who can be paged: users, contact methods and notification rules',
      tags: ['paging'],
      permission: 'paging:read',
      responses: [{ status: 200, description: 'People', schema: peopleSchema }],
      handler: async ({ principal }) => ({ people: await queries.people(principal.tenant) }),
    }),
  ];
}
