/** The read-only SQL profile is one definition: the embedded server's users.xml and the deploy/ file for your own server carry the same settings. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SQL_READONLY_PROFILE, usersXml } from './server.ts';

function profileSettings(xml: string, profile: string): Record<string, string> {
  // the profile element opens a block (a newline follows); its readonly setting does not
  const body =
    new RegExp(`<${profile}>\\s*\\n([\\s\\S]*?)\\n\\s*</${profile}>`).exec(
      xml.replace(/<!--[\s\S]*?-->/g, ''),
    )?.[1] ?? '';
  return Object.fromEntries([...body.matchAll(/<(\w+)>([^<]*)<\/\1>/g)].map((m) => [m[1], m[2]]));
}

describe('read-only SQL profile', () => {
  const expected = Object.fromEntries(Object.entries(SQL_READONLY_PROFILE).map(([k, v]) => [k, String(v)]));

  it('the embedded server has it', () => {
    expect(profileSettings(usersXml(), 'readonly')).toEqual(expected);
  });

  it('the users.d file in deploy/ has the same settings', () => {
    const file = readFileSync(
      resolve(import.meta.dirname, '../../deploy/clickhouse/users.d/vxflow-ro.xml'),
      'utf8',
    );
    expect(profileSettings(file, 'vxflow_readonly')).toEqual(expected);
  });
});
