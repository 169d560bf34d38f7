// The objects a platform test of streams works with, over one test database: accounts, the catalog,
// moderator grants, the directory's listing planner, and a way to make a fresh user. Builds nothing
// else (no directory cache, no bus) and never closes the database (useTestDatabase owns it).
import { Accounts, StreamCatalog, StreamListing, StreamModerators, type AuthUser, type Database } from '@onair/platform';
import { unique } from './unique-name.js';
import { TEST_SCRYPT } from './fast-hashing.js';

export async function streamFixtures(db: Database) {
  const accounts = await Accounts.open(db, { jwtTtlSeconds: 60, scrypt: TEST_SCRYPT });
  const catalog = new StreamCatalog(db);
  return {
    accounts,
    catalog,
    moderators: new StreamModerators(db, catalog),
    listing: new StreamListing(db),
    /** A new account with a unique name (`prefix` first). */
    newUser: async (prefix = 'u'): Promise<AuthUser> => (await accounts.register(unique(prefix), 'password123')).user,
  };
}
