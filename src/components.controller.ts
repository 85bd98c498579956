import { Controller, Get } from '@nestjs/common';
import { AccessCandidate, ComponentService } from 'nestjs-sre';
import { Team } from './candidate';

/** `GET /components`: the names of the components the caller's team sees (global ones and its own). */
@Controller('components')
export class ComponentsController {
  constructor(private readonly components: ComponentService) {}

  @Get()
  async list(@Team() team: AccessCandidate): Promise<{ components: string[] }> {
    const seen = await this.components.requester(team).getAll();
    return { components: Object.keys(seen).sort() };
  }
}
