// A real OpenID Provider (the npm package oidc-provider) on a loopback port, for classcred-oidc's
// tests. Usage: node provider.mjs <redirect_uri>. Prints "issuer <url>" once it listens.
//
// Two confidential clients with the secret "test-secret": "classcred-rs" (ID tokens signed
// RS256) and "classcred-es" (ES256). Logins are automatic: the interaction page signs in the
// account named by the authorization request's login_hint and grants what was asked, so the test
// drives the whole flow with plain HTTP. An account's ID token carries sub = <account> and the
// claim "https://slack.com/user_id" = <account> in upper case (scope "slack").
import http from 'node:http';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import Provider from 'oidc-provider';

const redirectUri = process.argv[2];
if (!redirectUri) {
  console.error('usage: node provider.mjs <redirect_uri>');
  process.exit(2);
}

function signingKey(type, options, alg) {
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), kid: `${alg}-${randomUUID()}`, alg, use: 'sig' };
}

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const client = (id, alg) => ({
    client_id: id,
    client_secret: 'test-secret',
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    id_token_signed_response_alg: alg,
  });
  const provider = new Provider(issuer, {
    clients: [client('classcred-rs', 'RS256'), client('classcred-es', 'ES256')],
    jwks: {
      keys: [
        signingKey('rsa', { modulusLength: 2048 }, 'RS256'),
        signingKey('ec', { namedCurve: 'P-256' }, 'ES256'),
      ],
    },
    claims: { openid: ['sub'], slack: ['https://slack.com/user_id'] },
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    async findAccount(ctx, id) {
      return {
        accountId: id,
        async claims() {
          return { sub: id, 'https://slack.com/user_id': id.toUpperCase() };
        },
      };
    },
    async loadExistingGrant(ctx) {
      const existing = ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (existing) {
        return ctx.oidc.provider.Grant.find(existing);
      }
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope(ctx.oidc.params.scope);
      await grant.save();
      return grant;
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  });
  provider.use(async (ctx, next) => {
    if (ctx.method !== 'GET' || !/^\/interaction\/[^/]+$/.test(ctx.path)) {
      return next();
    }
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const account = details.params.login_hint;
    if (!account) {
      ctx.status = 400;
      ctx.body = 'this test provider needs login_hint';
      return undefined;
    }
    const to = await provider.interactionResult(ctx.req, ctx.res, { login: { accountId: account } });
    ctx.status = 303;
    ctx.redirect(to);
    return undefined;
  });
  for (const event of ['grant.error', 'authorization.error', 'server_error']) {
    provider.on(event, (ctx, err) => console.error(`${event}: ${err.message} ${err.error_detail ?? ''}`));
  }
  server.on('request', provider.callback());
  console.log(`issuer ${issuer}`);
});
