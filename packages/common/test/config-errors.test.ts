import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  checkGraphQLInput,
  createFormatError,
  int,
  loadConfig,
  notFound,
  str,
  url,
} from '../src/index.ts';

describe('loadConfig', () => {
  const spec = {
    PORT: int('port', 4000, 0, 65535),
    NAME: str('name'),
    SITE: url('site', 'http://localhost'),
  };
  it('parses values and applies defaults', () => {
    expect(loadConfig(spec, { PORT: '4100', NAME: 'x' })).toEqual({ PORT: 4100, NAME: 'x', SITE: 'http://localhost' });
  });
  it('names every bad variable at once', () => {
    expect(() => loadConfig(spec, { PORT: '70000', SITE: 'not a url' })).toThrow(ConfigError);
    try {
      loadConfig(spec, { PORT: '70000', SITE: 'not a url' });
    } catch (e) {
      const m = (e as Error).message;
      expect(m).toContain('PORT="70000"');
      expect(m).toContain('NAME is required');
      expect(m).toContain('SITE="not a url"');
    }
  });
});

describe('createFormatError', () => {
  const logged: unknown[] = [];
  const format = createFormatError((e) => logged.push(e));
  it('keeps DataPilot codes and masks everything else as INTERNAL without a stack', () => {
    const nf = notFound('Conversation');
    expect(format({ message: nf.message, extensions: { ...nf.extensions, stacktrace: ['x'] } }, nf)).toEqual({
      message: 'Conversation was not found.',
      extensions: { code: 'NOT_FOUND' },
    });
    const boom = new GraphQLError('connection refused at 10.0.0.3:5432', {
      originalError: new Error('connection refused at 10.0.0.3:5432'),
    });
    const out = format({ message: boom.message, extensions: { stacktrace: ['at x'] } }, boom);
    expect(out).toEqual({
      message: 'Internal server error.',
      path: undefined,
      locations: undefined,
      extensions: { code: 'INTERNAL' },
    });
    expect(logged).toHaveLength(1);
  });
});

describe('checkGraphQLInput', () => {
  const code = (body: unknown) => {
    try {
      checkGraphQLInput(body);
      return 'accepted';
    } catch (e) {
      return (e as { extensions: { code: string } }).extensions.code;
    }
  };
  it('refuses a query whose brackets nest deeper than the parser can take, before parsing', () => {
    // `{` and `(` are 2 levels; 98 brackets more make 100, the most allowed (MAX_NESTING).
    const nested = (k: number) => `{ a(x: ${'['.repeat(k)}1${']'.repeat(k)}) }`;
    expect(code({ query: nested(98), variables: {} })).toBe('accepted');
    expect(code({ query: nested(99) })).toBe('BAD_USER_INPUT');
    expect(code({ variables: { v: 1 } })).toBe('accepted'); // no query: Apollo answers for it
  });
});
