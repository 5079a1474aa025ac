// Security groups as AWS applies them to a Network Load Balancer with a security group: for every
// listener, follow listener -> target group -> ECS service -> task security group, and check that
// both the load balancer group's outbound rules and the task group's inbound rules admit the
// container port and the health-check port. AWS: "the security group rules that you specify for
// your Network Load Balancer apply to health checks and to the traffic forwarded to targets"
// (Elastic Load Balancing, Network Load Balancers, "Update the security groups": outbound rules
// must allow traffic to the targets on the listener and health-check ports).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fullStack, resourcesOfType, type synth } from './synth.ts';

type Template = ReturnType<typeof synth>['json'];

interface Rule {
  readonly protocol: string;
  readonly from: number;
  readonly to: number;
  /** A security group's logical id, or a CIDR. */
  readonly peer: { readonly group: string } | { readonly cidr: string };
}

const groupOf = (ref: unknown): string | undefined => {
  const getAtt = (ref as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt'];
  return getAtt?.[1] === 'GroupId' ? getAtt[0] : undefined;
};

function peerOf(r: any, direction: 'ingress' | 'egress'): Rule['peer'] | undefined {
  const group = groupOf(direction === 'ingress' ? r.SourceSecurityGroupId : r.DestinationSecurityGroupId);
  if (group) return { group };
  return r.CidrIp ? { cidr: r.CidrIp } : undefined;
}

const toRule = (r: any, direction: 'ingress' | 'egress'): Rule[] => {
  const peer = peerOf(r, direction);
  if (!peer) return [];
  const all = String(r.IpProtocol) === '-1';
  return [{ protocol: all ? '-1' : String(r.IpProtocol), from: all ? 0 : Number(r.FromPort), to: all ? 65535 : Number(r.ToPort), peer }];
};

/** Every rule of one direction on a security group: inline on the group and standalone resources. */
function rulesOf(json: Template, group: string, direction: 'ingress' | 'egress'): Rule[] {
  const inline = json.Resources[group]?.Properties?.[direction === 'ingress' ? 'SecurityGroupIngress' : 'SecurityGroupEgress'] ?? [];
  const type = direction === 'ingress' ? 'AWS::EC2::SecurityGroupIngress' : 'AWS::EC2::SecurityGroupEgress';
  const standalone = resourcesOfType(json, type).filter(([, r]) => groupOf(r.GroupId) === group).map(([, r]) => r);
  return [...inline, ...standalone].flatMap((r) => toRule(r, direction));
}

/** Whether a rule admits TCP on `port` with `peer` on the other side (a task's address lies in 0.0.0.0/0). */
const admits = (rules: Rule[], port: number, peer: string) => rules.some((r) =>
  (r.protocol === 'tcp' || r.protocol === '-1') && r.from <= port && port <= r.to
  && ('group' in r.peer ? r.peer.group === peer : r.peer.cidr === '0.0.0.0/0'));

/** Each listener's path to its tasks and the ports AWS sends on: one line per gap, none when all is open. */
export function unreachableTargets(json: Template): string[] {
  const problems: string[] = [];
  const listeners = resourcesOfType(json, 'AWS::ElasticLoadBalancingV2::Listener');
  const services = resourcesOfType(json, 'AWS::ECS::Service');
  assert.ok(listeners.length > 0 && services.length > 0, 'the template has listeners and services');
  for (const [listenerId, listener] of listeners) {
    const lb = json.Resources[listener.LoadBalancerArn.Ref as string]!.Properties!;
    const lbGroups = (lb.SecurityGroups ?? []).map(groupOf) as string[];
    for (const action of listener.DefaultActions) {
      const tgId = action.TargetGroupArn.Ref as string;
      const tg = json.Resources[tgId]!.Properties!;
      const where = `listener ${listener.Port} (${listenerId}) -> ${tgId}`;
      const serving = services.filter(([, s]) => (s.LoadBalancers ?? []).some((l: any) => l.TargetGroupArn.Ref === tgId));
      if (serving.length === 0) problems.push(`${where}: no ECS service registers in it`);
      for (const [serviceId, service] of serving) {
        const containerPort = service.LoadBalancers.find((l: any) => l.TargetGroupArn.Ref === tgId).ContainerPort as number;
        const healthPort = tg.HealthCheckPort === undefined || tg.HealthCheckPort === 'traffic-port' ? containerPort : Number(tg.HealthCheckPort);
        const taskGroups = (service.NetworkConfiguration.AwsvpcConfiguration.SecurityGroups as unknown[]).map(groupOf) as string[];
        for (const [what, port] of [['traffic', containerPort], ['health check', healthPort]] as const) {
          // A load balancer without security groups is not filtered on its side (AWS); ours has one.
          const out = lbGroups.length === 0 || lbGroups.some((lbg) => taskGroups.some((tg2) => admits(rulesOf(json, lbg, 'egress'), port, tg2)));
          if (!out) problems.push(`${where} -> ${serviceId}: the load balancer's security group does not let ${what} out to port ${port}`);
          const inbound = taskGroups.some((tg2) => lbGroups.some((lbg) => admits(rulesOf(json, tg2, 'ingress'), port, lbg)));
          if (!inbound) problems.push(`${where} -> ${serviceId}: the task security group does not let ${what} in on port ${port}`);
        }
      }
    }
  }
  return problems;
}

describe('network rules as AWS applies them', () => {
  const { json } = fullStack();

  it('let every listener reach its tasks on the container port and the health-check port', () => {
    assert.deepEqual(unreachableTargets(json), []);
  });

  it('would report a load balancer whose group lets nothing out (the check can fail)', () => {
    const closed = structuredClone(json);
    for (const [id, r] of Object.entries(closed.Resources)) if (r.Type === 'AWS::EC2::SecurityGroupEgress') delete closed.Resources[id];
    for (const r of Object.values(closed.Resources)) {
      if (r.Type === 'AWS::EC2::SecurityGroup' && r.Properties.GroupDescription.startsWith('Public mail ports')) {
        r.Properties.SecurityGroupEgress = [{ CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic', FromPort: 252, IpProtocol: 'icmp', ToPort: 86 }];
      }
    }
    const problems = unreachableTargets(closed);
    const listeners = resourcesOfType(json, 'AWS::ElasticLoadBalancingV2::Listener').length;
    assert.equal(problems.filter((p) => /does not let traffic out/.test(p)).length, listeners, problems.join('\n'));
    assert.equal(problems.filter((p) => /does not let health check out/.test(p)).length, listeners);
  });

  it('would report a health-check port the task does not admit', () => {
    const moved = structuredClone(json);
    for (const r of Object.values(moved.Resources)) if (r.Type === 'AWS::ElasticLoadBalancingV2::TargetGroup') r.Properties.HealthCheckPort = '8080';
    const problems = unreachableTargets(moved);
    assert.ok(problems.some((p) => /task security group does not let health check in on port 8080/.test(p)), problems.join('\n'));
  });
});
