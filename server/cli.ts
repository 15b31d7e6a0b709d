import { parseArgs } from 'node:util';
import { ROLES, type Role } from '../shared/api.ts';
import type { AuditContext } from './audit/record.ts';
import { AuditSigner } from './audit/signingKey.ts';
import { verifyAuditCommand } from './audit/verify.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { MigrationDriftError, MigrationsPendingError } from './db/migrate.ts';
import { createPool, withTransaction, type Pool } from './db/pool.ts';
import { getUserByUsername } from './db/users.ts';
import { prepareDatabase } from './infra/database.ts';
import { createLogger, type Logger } from './log.ts';
import { createUserWithEnrollment } from './users/createUser.ts';
import { issueEnrollmentLink } from './users/enrollmentLink.ts';
import { MODEL_USAGE, modelCommand } from './models/modelCommand.ts';
import { dataKeyCommand } from './conversations/dataKeyCommand.ts';

const USAGE = `Usage: npm run argus -- <command> [options]

Commands:
  migrate                                 apply pending database migrations, as DATABASE_OWNER_URL
                                          (falls back to DATABASE_URL, with a warning)
  create-admin <username> [--name "Display Name"]
                                          create an admin and print a one-time enrollment link
  create-user <username> --role user|auditor|admin [--name "Display Name"]
                                          create a user and print a one-time enrollment link
  enrollment-link <username>              issue a new one-time enrollment link for a user
  verify-audit [--chain-only] [--checkpoints FILE ...]
                                          verify the audit hash chain and the checkpoints signed with
                                          this installation's key (--chain-only: the chain alone,
                                          e.g. after a signing-key rotation; --checkpoints: also hold it
                                          against checkpoints received elsewhere, such as the
                                          AUDIT_CHECKPOINT_FILE sink or lines copied from the SIEM)
  encrypt-conversations                   encrypt in place the restricted conversations still stored in
                                          plaintext (also done in the background at start-up)
  rotate-data-key                         re-wrap every conversation data key under the current key-
                                          encryption key (the first of DATA_ENCRYPTION_KEYS); keep the
                                          old keys configured until it reports that rotation is complete
${MODEL_USAGE}`;

const CLI_CONTEXT: AuditContext = { actor: null, ip: null, userAgent: 'argus-cli' };

/**
 * Runs a command on the server's own role, as a node would: migrated first as the owner
 * (DATABASE_OWNER_URL or the embedded superuser), or refused while migrations are pending.
 * `migrateWithDatabaseUrl`: `npm run migrate` without DATABASE_OWNER_URL migrates with DATABASE_URL.
 */
async function withDatabase<T>(
  config: Config,
  log: Logger,
  fn: (pool: Pool) => Promise<T>,
  { migrateWithDatabaseUrl = false }: { migrateWithDatabaseUrl?: boolean } = {},
): Promise<T> {
  const database = await prepareDatabase({ config, log, migrateWithDatabaseUrl });
  const pool = createPool(database.url, log, 2);
  try {
    return await fn(pool);
  } finally {
    await pool.end();
    await database.stop();
  }
}

async function createAccount(config: Config, pool: Pool, username: string, role: Role, name: string | undefined): Promise<number> {
  const result = await createUserWithEnrollment({ pool, config, username, displayName: name ?? username, role, context: CLI_CONTEXT });
  if (!result.created) {
    console.error(`The username "${username}" is taken. Use \`enrollment-link ${username}\` to issue a new link.`);
    return 1;
  }
  printLink(result.user.username, result.enrollment);
  return 0;
}

function printLink(username: string, link: { url: string; expiresAt: string }): void {
  console.log(`\nEnrollment link for ${username} (single use, valid until ${link.expiresAt}):\n\n  ${link.url}\n`);
}

async function run(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      role: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      provider: { type: 'string' },
      'base-url': { type: 'string' },
      upstream: { type: 'string' },
      'key-env': { type: 'string' },
      tier: { type: 'string' },
      'grant-seconds': { type: 'string' },
      'max-tokens': { type: 'string' },
      'require-uv': { type: 'boolean' },
      'chain-only': { type: 'boolean' },
      checkpoints: { type: 'string', multiple: true },
      description: { type: 'string' },
    },
  });
  const [command, username] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  const config = loadConfig();
  // The CLI talks to people: keep the logs to warnings.
  const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const needsUsername = ['create-admin', 'create-user', 'enrollment-link'].includes(command);
  if (needsUsername && !username) {
    console.error(`${command} needs a username.\n\n${USAGE}`);
    return 2;
  }
  switch (command) {
    case 'migrate':
      if (config.databaseUrl && !config.databaseOwnerUrl) {
        console.error(
          'Warning: DATABASE_OWNER_URL is not set, so migrating with DATABASE_URL. Migrations need the role that owns the schema; ' +
            'if the server connects with that same role, it can rewrite the audit log. See docs/deploy.md, "Database roles".',
        );
      }
      return withDatabase(
        config,
        log,
        async () => {
          console.log('Migrations are up to date.');
          return 0;
        },
        { migrateWithDatabaseUrl: true },
      );
    case 'create-admin':
      return withDatabase(config, log, (pool) => createAccount(config, pool, username!, 'admin', values.name));
    case 'create-user': {
      const role = values.role as Role | undefined;
      if (!role || !ROLES.includes(role)) {
        console.error(`create-user needs --role with one of: ${ROLES.join(', ')}`);
        return 2;
      }
      return withDatabase(config, log, (pool) => createAccount(config, pool, username!, role, values.name));
    }
    case 'enrollment-link':
      return withDatabase(config, log, async (pool) => {
        const user = await getUserByUsername(pool, username!);
        if (!user) {
          console.error(`No user named "${username}".`);
          return 1;
        }
        const link = await withTransaction(pool, (client) => issueEnrollmentLink(client, { config, userId: user.id, context: CLI_CONTEXT }));
        if (!link) {
          console.error(`No user named "${username}".`);
          return 1;
        }
        printLink(user.username, link);
        return 0;
      });
    case 'model':
      return withDatabase(config, log, (pool) => modelCommand(pool, positionals.slice(1), { ...values, checkpoints: undefined }, config));
    case 'verify-audit':
      // Holds the chain against the checkpoints signed with this installation's key, unless --chain-only.
      if (values['chain-only'] && values.checkpoints?.length) {
        console.error('--checkpoints needs the signing key: it cannot be combined with --chain-only.');
        return 2;
      }
      return withDatabase(config, log, (pool) =>
        verifyAuditCommand(
          pool,
          values['chain-only'] ? null : AuditSigner.fromPem(config.audit.signingKeyPem, config.audit.retiredPublicKeysPem).trustedPublicKeys,
          console,
          { checkpointsFiles: values.checkpoints ?? [] },
        ),
      );
    case 'encrypt-conversations':
    case 'rotate-data-key':
      return withDatabase(config, log, (pool) => dataKeyCommand({ pool, config, log }, command, console));
    default:
      console.error(`Unknown command "${command}".\n\n${USAGE}`);
      return 2;
  }
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    // Errors that say what to do: the message alone.
    const plain = error instanceof ConfigError || error instanceof MigrationDriftError || error instanceof MigrationsPendingError;
    if (plain || (error instanceof TypeError && 'code' in error)) console.error((error as Error).message);
    else console.error(error);
    process.exit(1);
  },
);
