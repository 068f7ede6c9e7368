/**
 * What the Apollo Sandbox opens with at the gateway in development (GET /graphql in a browser): a sign-in, a query
 * that crosses the four subgraphs in one request, and a subscription. Sign in with `SignIn`, paste its `accessToken`
 * into the `authorization` header, then run the others; subscriptions go over graphql-ws to the same URL.
 */
export const SANDBOX_EXAMPLE = {
  document: `# 1. Sign in (the demo user of npm start: DEMO_EMAIL, DEMO_PASSWORD), then put "Bearer <accessToken>"
#    in the authorization header.
mutation SignIn {
  login(email: "demo@datapilot.dev", password: "demo-password-2026") {
    accessToken
    expiresAt
    organization { id name }
  }
}

# 2. One request across the subgraphs: auth (organization, users), lake (tables, runs), graph (datasets), chat.
query MyOrganization {
  me {
    role
    organization {
      name
      tables { name rowCount lastRun { state triggeredBy { email } } dataset { description } }
      conversations(first: 3) { edges { node { title owner { email } } } }
    }
  }
}

# 3. Ask a question (needs a conversation id from createConversation), then follow the answer as it streams.
subscription FollowAnswer($messageId: ID!) {
  messageEvents(messageId: $messageId) {
    sequence
    kind
    textDelta
    message { status sql author { email } }
  }
}
`,
  variables: { messageId: '' },
  headers: { authorization: 'Bearer <accessToken from SignIn>' },
};
