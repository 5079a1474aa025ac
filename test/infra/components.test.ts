// Services are written in parallel: a component whose entry point does not exist yet is left out
// with a synth warning, and what remains is still a coherent stack.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { FIXTURE_HANDLER, resourcesOfType, synth } from './synth.ts';

it('leaves out the relay, submission ports and mailbox server until their entry points exist', () => {
  const { json, stack } = synth({ edge: FIXTURE_HANDLER, inbound: FIXTURE_HANDLER, relay: undefined, mailbox: undefined });
  const ports = resourcesOfType(json, 'AWS::ElasticLoadBalancingV2::Listener').map(([, l]) => l.Port);
  assert.deepEqual(ports, [25]);
  assert.equal(resourcesOfType(json, 'AWS::Lambda::EventSourceMapping').length, 1);
  assert.equal(resourcesOfType(json, 'AWS::ECS::Service').length, 1);
  const srv = resourcesOfType(json, 'AWS::Route53::RecordSet').filter(([, r]) => r.Type === 'SRV');
  assert.equal(srv.length, 0, 'no SRV record advertises a port nobody serves');
  // The outbound queue and its DLQ alarm stay: mail queued for relay is kept until a relay exists.
  assert.equal(resourcesOfType(json, 'AWS::SQS::Queue').length, 4);
  const annotations = Annotations.fromStack(stack);
  annotations.hasWarning('/Mail', Match.stringLikeRegexp('functions/relay/handler.ts does not exist yet'));
  annotations.hasWarning('/Mail', Match.stringLikeRegexp('mailbox-server/main.ts does not exist yet'));
});
