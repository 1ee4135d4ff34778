import type { OpenAPIObject } from '@nestjs/swagger';

export declare const SCHEMA_TYPES_PATH: string;
export declare function renderSchemaTypes(document: unknown): Promise<string>;
export declare function documentFromBuild(distRoot: string): Promise<OpenAPIObject>;
