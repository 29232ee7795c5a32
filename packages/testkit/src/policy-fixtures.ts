// The demo policy several tests start from: one policy for project `demo` with a resolver, a host
// rule and a CIDR rule. One copy, so a change to the policy format changes it everywhere at once.
export const DEMO_POLICY_YAML = `version: 1
policies:
  - name: web
    match: { project: demo }
    resolvers: [127.0.0.11]
    egress:
      allow:
        - { host: api.github.com, ports: [443] }
        - { cidr: 10.20.0.0/16, ports: [5432] }
`;
