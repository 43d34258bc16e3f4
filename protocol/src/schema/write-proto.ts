/** `npm run gen:proto`: writes protocol/proto/flow.proto from the schema. */
import { writeFileSync } from 'node:fs';
import { flowProtoText } from './protobuf.ts';

const target = new URL('../../proto/flow.proto', import.meta.url);
writeFileSync(target, flowProtoText());
console.error(`wrote ${target.pathname}`);
