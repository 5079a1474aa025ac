// SES domain identities with Easy DKIM for the mail domains, when SES carries outbound mail (its API,
// or its SMTP interface as the smarthost): SES sends
// only for verified identities, and Easy DKIM signs with d=<domain>, which aligns with DMARC
// (RFC 7489 §3.1.1) even though the envelope sender's SPF domain is SES's. The three DKIM CNAMEs go
// into the hosted zone when the domain is in it; otherwise they are stack outputs to publish by hand.
import { Annotations, CfnOutput, Stack, Token } from 'aws-cdk-lib';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as ses from 'aws-cdk-lib/aws-ses';
import { Construct } from 'constructs';
import type { DeploymentSettings } from '../settings.ts';

/** The region of an SES SMTP endpoint (`email-smtp.<region>.amazonaws.com`), or null for another smarthost or the SES API. */
export function sesRegionOf(settings: DeploymentSettings): string | null {
  const m = settings.smarthost?.kind === 'smtp' ? /^email-smtp(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com$/i.exec(settings.smarthost.host) : null;
  return m ? m[1]!.toLowerCase() : null;
}

/** Whether SES carries outbound mail: through its API (the stack's region), or as the SMTP smarthost. */
export function sendsThroughSes(settings: DeploymentSettings): boolean {
  return settings.smarthost?.kind === 'ses-api' || sesRegionOf(settings) !== null;
}

const within = (name: string, zone: string) => name === zone || name.endsWith(`.${zone}`);

export interface SesIdentitiesProps {
  readonly settings: DeploymentSettings;
}

export class SesIdentities extends Construct {
  readonly identities: { readonly domain: string; readonly identity: ses.EmailIdentity }[] = [];

  constructor(scope: Construct, id: string, props: SesIdentitiesProps) {
    super(scope, id);
    const { settings } = props;
    if (!sendsThroughSes(settings)) return;
    // An identity is regional: one made here verifies nothing for an endpoint in another region.
    // The SES API is called in the stack's own region, so only an SMTP endpoint can be elsewhere.
    const sesRegion = sesRegionOf(settings);
    const region = Stack.of(this).region;
    if (sesRegion && !Token.isUnresolved(region) && region !== sesRegion) {
      Annotations.of(this).addWarningV2('mail:ses-region', `The smarthost is SES in ${sesRegion} but the stack deploys to ${region}: verify the domains in ${sesRegion} by hand (SES console, Identities), or use email-smtp.${region}.amazonaws.com.`);
      return;
    }
    const zone = settings.hostedZone
      ? route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', { hostedZoneId: settings.hostedZone.id, zoneName: settings.hostedZone.name })
      : null;
    for (const domain of settings.domains) {
      const label = domain.replace(/[^a-z0-9]/gi, '-');
      const identity = new ses.EmailIdentity(this, `Identity-${label}`, {
        identity: ses.Identity.domain(domain),
        dkimSigning: true,
        dkimIdentity: ses.DkimIdentity.easyDkim(ses.EasyDkimSigningKeyLength.RSA_2048_BIT),
      });
      this.identities.push({ domain, identity });
      identity.dkimRecords.forEach((record, i) => {
        if (zone && within(domain, settings.hostedZone!.name)) {
          new route53.CnameRecord(this, `Dkim-${label}-${i + 1}`, { zone, recordName: record.name, domainName: record.value });
        } else {
          new CfnOutput(this, `SesDkim${label.replace(/-/g, '')}${i + 1}`, { value: `${record.name} CNAME ${record.value}`, description: `SES Easy DKIM record ${i + 1} of 3 for ${domain}: publish it at your DNS provider` });
        }
      });
    }
  }
}
