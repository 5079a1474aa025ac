// A Fargate service (arm64) behind listeners of the shared Network Load Balancer: one target
// group per public port, client IP preserved, TCP health checks, draining and auto scaling.
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { PublicPort } from '../service-contract.ts';
import { retentionDays } from './functions.ts';

export interface MailServiceProps {
  readonly cluster: ecs.ICluster;
  readonly loadBalancer: elbv2.NetworkLoadBalancer;
  readonly loadBalancerSecurityGroup: ec2.ISecurityGroup;
  readonly image: ecs.ContainerImage;
  readonly ports: readonly PublicPort[];
  readonly environment: Record<string, string>;
  readonly secrets: Record<string, ecs.Secret>;
  readonly cpu: number;
  readonly memoryMiB: number;
  readonly minTasks: number;
  readonly maxTasks: number;
  readonly targetCpuPercent: number;
  readonly connectionsPerTask: number;
  /** Scale on open connections per task as well as CPU (long-lived IMAP sessions). */
  readonly scaleOnConnections: boolean;
  /** How long the load balancer lets open sessions finish before ECS sends the task SIGTERM. */
  readonly drainSeconds: number;
  /** The listeners' TCP idle timeout (tcp.idle_timeout.seconds); unset keeps AWS's 350 s. */
  readonly tcpIdleTimeoutSeconds?: number;
  readonly logRetentionDays: number;
}

export class MailService extends Construct {
  readonly service: ecs.FargateService;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  /** One target group per public port. */
  readonly targets: { readonly port: PublicPort; readonly targetGroup: elbv2.NetworkTargetGroup }[] = [];
  readonly securityGroup: ec2.SecurityGroup;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: MailServiceProps) {
    super(scope, id);
    const vpc = props.cluster.vpc;

    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu: props.cpu,
      memoryLimitMiB: props.memoryMiB,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.ARM64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    const logGroup = this.logGroup = new logs.LogGroup(this, 'Logs', { retention: retentionDays(props.logRetentionDays) });
    const container = this.taskDefinition.addContainer('app', {
      image: props.image,
      essential: true,
      environment: {
        ...props.environment,
        ...Object.fromEntries(props.ports.map((p) => [p.env, String(p.container)])),
      },
      secrets: props.secrets,
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: id, logGroup }),
      portMappings: props.ports.map((p) => ({ containerPort: p.container, protocol: ecs.Protocol.TCP })),
      readonlyRootFilesystem: true,
      // SIGTERM comes after the load balancer has drained; give open sessions time to say goodbye.
      stopTimeout: Duration.seconds(120),
      user: 'node',
    });
    // A read-only root still needs a scratch directory (Node and TLS libraries may write temp files).
    // Both images declare VOLUME /tmp (infra/images/Dockerfile), so ECS gives the volume the image's owner and mode.
    this.taskDefinition.addVolume({ name: 'tmp' });
    container.addMountPoints({ sourceVolume: 'tmp', containerPath: '/tmp', readOnly: false });

    // Only the load balancer may reach the tasks. With client IP preservation the packets carry the
    // client's address, and a rule naming the load balancer's security group still admits them.
    // Both ends need a rule: AWS applies the load balancer group's *outbound* rules to health checks
    // and forwarded traffic (Elastic Load Balancing, Network Load Balancers: security groups), and
    // that group allows nothing out by default. Health checks use the traffic port (no HealthCheckPort).
    this.securityGroup = new ec2.SecurityGroup(this, 'Tasks', { vpc, description: `${id} tasks: mail ports from the load balancer only`, allowAllOutbound: true });
    for (const p of props.ports) {
      this.securityGroup.connections.allowFrom(props.loadBalancerSecurityGroup, ec2.Port.tcp(p.container), `${p.listener} -> ${p.container} from the load balancer`);
    }

    this.service = new ecs.FargateService(this, 'Service', {
      cluster: props.cluster,
      taskDefinition: this.taskDefinition,
      desiredCount: props.minTasks,
      // No NAT gateway: tasks sit in public subnets and need a public IP to reach ECR, CloudWatch
      // Logs, SQS and Secrets Manager. Inbound is closed by the security group above.
      assignPublicIp: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroups: [this.securityGroup],
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { enable: true, rollback: true },
      healthCheckGracePeriod: Duration.seconds(60),
      enableExecuteCommand: false,
    });
    // ECS spreads a service's tasks over the subnets' Availability Zones; after an AZ outage it moves
    // them back (Amazon ECS developer guide, "Availability Zone rebalancing").
    (this.service.node.defaultChild as ecs.CfnService).availabilityZoneRebalancing = 'ENABLED';

    for (const p of props.ports) {
      const targetGroup = new elbv2.NetworkTargetGroup(this, `Port${p.listener}`, {
        vpc,
        port: p.container,
        protocol: elbv2.Protocol.TCP,
        targetType: elbv2.TargetType.IP,
        // The services see the real client address on the socket (greylisting, rate limits, Received:).
        preserveClientIp: true,
        // On a rolling deploy ECS deregisters the task, waits the deregistration delay, then sends
        // SIGTERM. Connection termination would reset every open flow when the delay ends, before the
        // SIGTERM; without it the flows keep working (Elastic Load Balancing, Network Load Balancers,
        // "Deregistration delay") and the service ends them with its protocol's goodbye: IMAP BYE,
        // SMTP 421 (core/service-process.ts drainOnSignals).
        connectionTermination: false,
        deregistrationDelay: Duration.seconds(props.drainSeconds),
        healthCheck: {
          protocol: elbv2.Protocol.TCP,
          interval: Duration.seconds(10),
          healthyThresholdCount: 2,
          unhealthyThresholdCount: 2,
        },
        targets: [this.service.loadBalancerTarget({ containerName: container.containerName, containerPort: p.container })],
      });
      props.loadBalancer.addListener(`Listener${p.listener}`, {
        port: p.listener,
        protocol: elbv2.Protocol.TCP,
        defaultTargetGroups: [targetGroup],
        tcpIdleTimeout: props.tcpIdleTimeoutSeconds === undefined ? undefined : Duration.seconds(props.tcpIdleTimeoutSeconds),
      });
      this.targets.push({ port: p, targetGroup });
    }

    const scaling = this.service.autoScaleTaskCount({ minCapacity: props.minTasks, maxCapacity: props.maxTasks });
    scaling.scaleOnCpuUtilization('Cpu', {
      targetUtilizationPercent: props.targetCpuPercent,
      scaleInCooldown: Duration.minutes(5),
      scaleOutCooldown: Duration.minutes(1),
    });
    const first = this.targets[0];
    if (props.scaleOnConnections && first) {
      scaling.scaleOnMetric('Connections', {
        metric: this.connectionsPerTask(first.targetGroup),
        scalingSteps: [
          { upper: props.connectionsPerTask / 4, change: -1 },
          { lower: props.connectionsPerTask, change: +1 },
          { lower: props.connectionsPerTask * 2, change: +2 },
        ],
        cooldown: Duration.minutes(3),
      });
    }
  }

  /**
   * Open connections on the load balancer divided by this service's healthy tasks. The flow count
   * is per load balancer (it includes the other service's short SMTP sessions), so this errs on
   * the side of scaling out early.
   */
  connectionsPerTask(targetGroup: elbv2.NetworkTargetGroup): cloudwatch.IMetric {
    return new cloudwatch.MathExpression({
      expression: 'IF(tasks > 0, flows / tasks, flows)',
      usingMetrics: {
        flows: new cloudwatch.Metric({
          namespace: 'AWS/NetworkELB',
          metricName: 'ActiveFlowCount',
          dimensionsMap: { LoadBalancer: targetGroup.firstLoadBalancerFullName },
          statistic: 'Average',
          period: Duration.minutes(1),
        }),
        tasks: targetGroup.metrics.healthyHostCount({ period: Duration.minutes(1), statistic: 'Minimum' }),
      },
      period: Duration.minutes(1),
      label: 'connections per task',
    });
  }
}
