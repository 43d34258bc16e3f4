/**
 * One logger for every part: pino to stderr, human-readable when stderr is a terminal and
 * JSON lines otherwise (for journald and log shippers). Components take a child logger
 * named after themselves.
 */
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export function createLogger(level: string, name = 'vxflow'): Logger {
  if (process.stderr.isTTY) {
    return pino(
      { name, level },
      pretty({
        destination: 2,
        colorize: true,
        translateTime: 'HH:MM:ss.l',
        ignore: 'pid,hostname',
        sync: true,
      }),
    );
  }
  return pino({ name, level, base: undefined }, pino.destination({ dest: 2, sync: true }));
}
