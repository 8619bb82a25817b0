// Loopback stand-in for Google's OAuth 2.0 server, built on npm oidc-provider.
//
//   node oauth-server.mjs [PORT]      (PORT 0 or absent: pick a free port)
//
// Listens on 127.0.0.1 only and prints one JSON line on stdout when ready:
//   {"issuer":..., "port":..., "client_id":..., "client_secret":...,
//    "client2_id":..., "client2_secret":... (a second organization's client),
//    "introspection_client_id":..., "introspection_client_secret":...}
//
// OAuth endpoints (paths are oidc-provider's, not Google's):
//   /auth                  authorization (code + PKCE S256; login_hint selects the account)
//   /token                 code exchange and refresh (client_secret_post)
//   /token/revocation      RFC 7009 revocation
//   /token/introspection   RFC 7662 introspection, for the mail server's client only
//
// Test-control endpoints (JSON; the server listens on loopback only):
//   POST /test/token  {"email"}        mint an access + refresh token without a browser
//   POST /test/revoke {"email"}        revoke every grant and token of that account
//   POST /test/revoke_access {"email"} revoke only that account's access tokens (the
//                                      grant and refresh token stay good: one refresh
//                                      mends it, as after a server-side reset at Google)
//   POST /test/grants {"email"}        how many of that account's grants are still alive
//                                      (a client's RFC 7009 revocation ends its grant)
//   POST /test/mode   {"token_endpoint": "normal"|"error500"|"hang"|"badjson",
//                      "interaction": "auto"|"deny"|"other-account",
//                      "introspection": "normal"|"inactive",
//                      "introspection_delay_ms": N}
//                      introspection "inactive": every token introspects as inactive,
//                      so the mail server refuses even fresh tokens (as Gmail refuses
//                      an account whose IMAP access an administrator turned off);
//                      introspection_delay_ms: every introspection answers N ms late
//                      (a slow mail server login, to order concurrent logins)
//   GET  /test/health

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const MAIL_SCOPE = 'https://mail.google.com/';
const CLIENT_ID = 'xoauthbridge-test';
const CLIENT_SECRET = 'xoauthbridge-test-secret';
// A second desktop client, as a second Workspace organization's (policy GoogleDomainClients).
const CLIENT2_ID = 'xoauthbridge-test-2';
const CLIENT2_SECRET = 'xoauthbridge-test-2-secret';
const INTROSPECTION_CLIENT_ID = 'dovecot';
const INTROSPECTION_CLIENT_SECRET = 'dovecot-secret';
// Account used when an authorization request carries no login_hint (Google would
// show its account chooser instead).
const DEFAULT_ACCOUNT = 'test@example.com';

const TOKEN_MODES = new Set(['normal', 'error500', 'hang', 'badjson']);
const INTERACTION_MODES = new Set(['auto', 'deny', 'other-account']);
// The account "other-account" signs in, whatever login_hint asks for (a person who picks
// another of their Google accounts in the chooser).
const OTHER_ACCOUNT = 'intruder@example.net';
const INTROSPECTION_MODES = new Set(['normal', 'inactive']);
const mode = {
  token_endpoint: 'normal', interaction: 'auto', introspection: 'normal', introspection_delay_ms: 0,
};

// Grant ids per account (= email address), so /test/revoke can find them: the
// in-memory adapter cannot be searched by account. Every grant is created by this
// file (consent or /test/token), so this map is complete.
const grantsByAccount = new Map();

// Access-token ids per account, for /test/revoke_access (filled by the provider's
// access_token.saved event, so tokens from refreshes are in it too).
const accessTokensByAccount = new Map();

function rememberAccessToken(token) {
  if (!accessTokensByAccount.has(token.accountId)) {
    accessTokensByAccount.set(token.accountId, new Set());
  }
  accessTokensByAccount.get(token.accountId).add(token.jti);
}

function rememberGrant(accountId, grantId) {
  if (!grantsByAccount.has(accountId)) grantsByAccount.set(accountId, new Set());
  grantsByAccount.get(accountId).add(grantId);
}

function configuration() {
  // Fresh keys per run: tokens live in memory only, so nothing must survive a restart.
  // An EC key (ES256 ID tokens, set in clientDefaults) because making an RSA key
  // costs up to 0.4 s here.
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        application_type: 'native', // accepts http://127.0.0.1:<any port>/ as redirect
        redirect_uris: ['http://127.0.0.1/'],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
      {
        client_id: CLIENT2_ID,
        client_secret: CLIENT2_SECRET,
        application_type: 'native',
        redirect_uris: ['http://127.0.0.1/'],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
      {
        client_id: INTROSPECTION_CLIENT_ID,
        client_secret: INTROSPECTION_CLIENT_SECRET,
        grant_types: [],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [privateKey.export({ format: 'jwk' })] },
    clientDefaults: { id_token_signed_response_alg: 'ES256' },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    scopes: ['openid', 'email', 'offline_access', MAIL_SCOPE],
    // hd: the account's domain, as Google names a Workspace domain in its ID tokens.
    claims: { openid: ['sub'], email: ['email', 'email_verified', 'hd'] },
    // Like Google: with scope "openid email" the ID token itself carries the email.
    conformIdTokenClaims: false,
    async findAccount(_ctx, id) {
      return {
        accountId: id,
        async claims() {
          return { sub: id, email: id, email_verified: true, hd: id.split('@')[1] };
        },
      };
    },
    // Dovecot matches the user by the introspection's "email" field.
    async extraTokenClaims(_ctx, token) {
      return { email: token.accountId };
    },
    // Google issues refresh tokens without offline_access (access_type=offline is
    // its own parameter) and does not rotate them.
    async issueRefreshToken(_ctx, client) {
      return client.grantTypeAllowed('refresh_token');
    },
    rotateRefreshToken: false,
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false }, // replaced by the /interaction/ middleware
      revocation: { enabled: true },
      introspection: {
        enabled: true,
        // Only the mail server may introspect, and only access tokens are "active"
        // (by default a refresh token would introspect as active too).
        async allowedPolicy(_ctx, client, token) {
          return client.clientId === INTROSPECTION_CLIENT_ID && token.kind === 'AccessToken';
        },
      },
    },
    ttl: {
      AccessToken: 3600, // Google's expires_in
      AuthorizationCode: 60,
      RefreshToken: 14 * 24 * 3600,
      Grant: 14 * 24 * 3600,
      Interaction: 3600,
      Session: 14 * 24 * 3600,
    },
  };
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : {};
}

// Complete login (account = login_hint) and consent without a person, or refuse
// consent in "deny" mode, as a user pressing Cancel at Google would.
function interactionMiddleware(provider) {
  return async (ctx, next) => {
    if (ctx.method !== 'GET' || !ctx.path.startsWith('/interaction/')) return next();

    const details = await provider.interactionDetails(ctx.req, ctx.res);
    let result;
    if (mode.interaction === 'deny') {
      result = { error: 'access_denied', error_description: 'The user denied access' };
    } else if (details.prompt.name === 'login') {
      const accountId = mode.interaction === 'other-account'
        ? OTHER_ACCOUNT : (details.params.login_hint || DEFAULT_ACCOUNT);
      result = { login: { accountId } };
    } else {
      const { accountId } = details.session;
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId, clientId: details.params.client_id });
      const { missingOIDCScope, missingOIDCClaims } = details.prompt.details;
      if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
      if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
      const grantId = await grant.save();
      rememberGrant(accountId, grantId);
      result = { consent: { grantId } };
    }
    ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result,
      { mergeWithLastSubmission: true }));
  };
}

// Make /token misbehave on demand (introspection and revocation stay normal).
function tokenEndpointFaults() {
  return async (ctx, next) => {
    if (ctx.path !== '/token' || mode.token_endpoint === 'normal') return next();
    switch (mode.token_endpoint) {
      case 'error500':
        ctx.status = 500;
        ctx.body = { error: 'internal_failure' };
        return undefined;
      case 'badjson':
        ctx.status = 200;
        ctx.type = 'application/json';
        ctx.body = '{"access_token": "truncated';
        return undefined;
      default: // hang: never answer; the client has to time out
        ctx.respond = false;
        return undefined;
    }
  };
}

async function mintTokens(provider, email) {
  const client = await provider.Client.find(CLIENT_ID);
  const grant = new provider.Grant({ accountId: email, clientId: CLIENT_ID });
  grant.addOIDCScope(MAIL_SCOPE);
  const grantId = await grant.save();
  rememberGrant(email, grantId);
  const fields = {
    accountId: email, client, grantId, gty: 'authorization_code', scope: MAIL_SCOPE,
  };
  const accessToken = new provider.AccessToken(fields);
  return {
    access_token: await accessToken.save(),
    refresh_token: await new provider.RefreshToken(fields).save(),
    expires_in: accessToken.expiration,
  };
}

async function revokeAccount(provider, email) {
  const grantIds = grantsByAccount.get(email) ?? new Set();
  for (const grantId of grantIds) {
    // The memory adapter keeps one index of all token kinds per grant, so this
    // drops refresh tokens and codes of the grant as well.
    await provider.AccessToken.revokeByGrantId(grantId);
    await (await provider.Grant.find(grantId))?.destroy();
  }
  grantsByAccount.delete(email);
  return { revoked_grants: grantIds.size };
}

async function revokeAccessTokens(provider, email) {
  const ids = accessTokensByAccount.get(email) ?? new Set();
  for (const jti of ids) await provider.AccessToken.adapter.destroy(jti);
  accessTokensByAccount.delete(email);
  return { revoked_access_tokens: ids.size };
}

// Introspection late by introspection_delay_ms, and in "inactive" mode every token is
// inactive (RFC 7662 2.2).
function introspectionFaults() {
  return async (ctx, next) => {
    if (ctx.path !== '/token/introspection') return next();
    if (mode.introspection_delay_ms > 0) {
      await new Promise((resolve) => { setTimeout(resolve, mode.introspection_delay_ms); });
    }
    if (mode.introspection === 'normal') return next();
    ctx.status = 200;
    ctx.body = { active: false };
    return undefined;
  };
}

async function liveGrants(provider, email) {
  let live = 0;
  for (const grantId of grantsByAccount.get(email) ?? []) {
    if (await provider.Grant.find(grantId)) live += 1;
  }
  return { live_grants: live };
}

function testControl(provider) {
  return async (ctx, next) => {
    if (!ctx.path.startsWith('/test/')) return next();
    const route = `${ctx.method} ${ctx.path}`;
    try {
      const body = ctx.method === 'POST' ? await readJson(ctx.req) : {};
      switch (route) {
        case 'GET /test/health':
          ctx.body = { ok: true, mode };
          return undefined;
        case 'POST /test/token':
          if (!body.email) ctx.throw(400, 'email required');
          ctx.body = await mintTokens(provider, body.email);
          return undefined;
        case 'POST /test/revoke':
          if (!body.email) ctx.throw(400, 'email required');
          ctx.body = await revokeAccount(provider, body.email);
          return undefined;
        case 'POST /test/revoke_access':
          if (!body.email) ctx.throw(400, 'email required');
          ctx.body = await revokeAccessTokens(provider, body.email);
          return undefined;
        case 'POST /test/grants':
          if (!body.email) ctx.throw(400, 'email required');
          ctx.body = await liveGrants(provider, body.email);
          return undefined;
        case 'POST /test/mode':
          if (body.token_endpoint !== undefined && !TOKEN_MODES.has(body.token_endpoint)) {
            ctx.throw(400, `token_endpoint must be one of ${[...TOKEN_MODES]}`);
          }
          if (body.interaction !== undefined && !INTERACTION_MODES.has(body.interaction)) {
            ctx.throw(400, `interaction must be one of ${[...INTERACTION_MODES]}`);
          }
          if (body.introspection !== undefined && !INTROSPECTION_MODES.has(body.introspection)) {
            ctx.throw(400, `introspection must be one of ${[...INTROSPECTION_MODES]}`);
          }
          if (body.introspection_delay_ms !== undefined
              && !(Number.isInteger(body.introspection_delay_ms)
                   && body.introspection_delay_ms >= 0)) {
            ctx.throw(400, 'introspection_delay_ms must be a whole number >= 0');
          }
          Object.assign(mode, {
            token_endpoint: body.token_endpoint ?? mode.token_endpoint,
            interaction: body.interaction ?? mode.interaction,
            introspection: body.introspection ?? mode.introspection,
            introspection_delay_ms: body.introspection_delay_ms ?? mode.introspection_delay_ms,
          });
          ctx.body = { ok: true, mode };
          return undefined;
        default:
          ctx.throw(404, `no such test endpoint: ${route}`);
      }
    } catch (err) {
      ctx.status = err.status ?? 400;
      ctx.body = { error: err.message };
    }
    return undefined;
  };
}

async function main() {
  const requestedPort = Number(process.argv[2] ?? 0);
  const server = createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(requestedPort, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;

  // The issuer contains the port, so the provider is built after listening.
  const provider = new Provider(issuer, configuration());
  provider.use(testControl(provider));
  provider.use(tokenEndpointFaults());
  provider.use(introspectionFaults());
  provider.on('access_token.saved', rememberAccessToken);
  provider.use(interactionMiddleware(provider));
  provider.on('server_error', (_ctx, err) => console.error('server_error:', err));
  server.on('request', provider.callback());

  process.on('SIGTERM', () => {
    server.close(() => process.exit(0));
    server.closeAllConnections(); // includes requests held open by "hang" mode
  });

  process.stdout.write(`${JSON.stringify({
    issuer,
    port,
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    client2_id: CLIENT2_ID,
    client2_secret: CLIENT2_SECRET,
    introspection_client_id: INTROSPECTION_CLIENT_ID,
    introspection_client_secret: INTROSPECTION_CLIENT_SECRET,
  })}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
