import { SetMetadata } from '@nestjs/common';
import type { JobName } from './job.types.js';

export const ON_JOB = 'onJob';

/** Marks the method that handles one job name in the worker role. */
export const OnJob = (name: JobName) => SetMetadata(ON_JOB, name);
