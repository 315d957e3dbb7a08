import {
  Controller,
  Get,
  Injectable,
  Scope,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
  type OnModuleInit,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { TasksService } from '../../lib/index.js';
import { Probe } from './probe.js';

export const ROLES = 'roles';

/** A guard as apps write them: a route without role metadata is public. */
@Injectable()
export class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const roles = this.reflector.get<string[] | undefined>(ROLES, context.getHandler());
    if (roles === undefined) return true;
    const role = context.switchToHttp().getRequest<{ headers: Record<string, unknown> }>().headers['x-role'];
    return typeof role === 'string' && roles.includes(role);
  }
}

@Controller('roles')
@UseGuards(RolesGuard)
export class ReportsController {
  constructor(
    private readonly tasks: TasksService,
    private readonly probe: Probe,
  ) {}

  /** Protected: its roles are defined after start-up, by {@link LateRoles}. */
  @Get('report')
  report() {
    this.tasks.afterResponse.schedule(() => this.probe.record('report:afterResponse'));
    return { report: true };
  }

  /** No roles: public. */
  @Get('open')
  open() {
    return { open: true };
  }
}

@Controller({ path: 'scoped-roles', scope: Scope.REQUEST })
@UseGuards(RolesGuard)
export class ScopedReportsController {
  constructor(
    private readonly tasks: TasksService,
    private readonly probe: Probe,
  ) {}

  @Get('report')
  report() {
    this.tasks.afterResponse.schedule(() => this.probe.record('scoped-report:afterResponse'));
    return { report: true };
  }
}

/**
 * Defines route metadata in `onModuleInit`, after the routes were wrapped (as a config-driven
 * permissions module does): on the method the controller's prototype holds.
 */
@Injectable()
export class LateRoles implements OnModuleInit {
  onModuleInit(): void {
    Reflect.defineMetadata(ROLES, ['admin'], ReportsController.prototype.report);
    Reflect.defineMetadata(ROLES, ['admin'], ScopedReportsController.prototype.report);
  }
}
