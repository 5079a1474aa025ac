// Records for the mail domains when the user gives a Route 53 hosted zone: MX, the host's A alias,
// SPF, DMARC, DKIM (from mailctl) and RFC 6186 / RFC 8314 SRV records for client autoconfiguration.
import { Annotations, Duration } from 'aws-cdk-lib';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import { Construct } from 'constructs';
import type { PublicPort } from '../service-contract.ts';
import { sendsThroughSes } from './ses.ts';
import type { DeploymentSettings } from '../settings.ts';

export interface MailDnsProps {
  readonly settings: DeploymentSettings;
  readonly zone: { readonly id: string; readonly name: string };
  readonly loadBalancer: elbv2.INetworkLoadBalancer;
  /** The ports the load balancer listens on: SRV records are published for these only. */
  readonly ports: readonly PublicPort[];
}

const within = (name: string, zone: string) => name === zone || name.endsWith(`.${zone}`);

/** The SPF policy: our own MX hosts, plus SES when it is the smarthost. */
export function spfRecord(settings: DeploymentSettings): string {
  const viaSes = sendsThroughSes(settings);
  return ['v=spf1', 'mx', ...(viaSes ? ['include:amazonses.com'] : []), '-all'].join(' ');
}

export function dmarcRecord(settings: DeploymentSettings, domain: string): string {
  return `v=DMARC1; p=${settings.dmarcPolicy}; rua=mailto:postmaster@${domain}; adkim=r; aspf=r`;
}

export class MailDns extends Construct {
  constructor(scope: Construct, id: string, props: MailDnsProps) {
    super(scope, id);
    const { settings } = props;
    const zone = route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', { hostedZoneId: props.zone.id, zoneName: props.zone.name });
    const ttl = Duration.minutes(30);

    if (within(settings.hostname, props.zone.name)) {
      new route53.ARecord(this, 'Host', {
        zone,
        recordName: `${settings.hostname}.`,
        target: route53.RecordTarget.fromAlias(new targets.LoadBalancerTarget(props.loadBalancer)),
      });
    } else {
      Annotations.of(this).addWarningV2('mail:dns-host-outside-zone', `${settings.hostname} is outside ${props.zone.name}: set its A record by hand (see infra/README.md).`);
    }

    for (const domain of settings.domains) {
      if (!within(domain, props.zone.name)) {
        Annotations.of(this).addWarningV2('mail:dns-domain-outside-zone', `${domain} is outside ${props.zone.name}: set its records by hand (see infra/README.md).`);
        continue;
      }
      const at = `${domain}.`;
      const label = domain.replace(/[^a-z0-9]/gi, '-');
      new route53.MxRecord(this, `Mx-${label}`, { zone, recordName: at, ttl, values: [{ priority: 10, hostName: settings.hostname }] });
      new route53.TxtRecord(this, `Spf-${label}`, { zone, recordName: at, ttl, values: [spfRecord(settings)] });
      new route53.TxtRecord(this, `Dmarc-${label}`, { zone, recordName: `_dmarc.${domain}.`, ttl, values: [dmarcRecord(settings, domain)] });
      const dkim = settings.dkim[domain];
      if (dkim) {
        new route53.TxtRecord(this, `Dkim-${label}`, { zone, recordName: `${dkim.selector}._domainkey.${domain}.`, ttl, values: [dkim.value] });
      }
      for (const port of props.ports) {
        if (!port.srv) continue;
        new route53.SrvRecord(this, `Srv-${label}-${port.listener}`, {
          zone, recordName: `${port.srv}.${domain}.`, ttl,
          values: [{ priority: 0, weight: 1, port: port.listener, hostName: settings.hostname }],
        });
      }
    }
  }
}
