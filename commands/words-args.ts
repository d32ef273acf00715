import { z } from 'zod';

/**
 * A command's `args` schema from a parser of its words that returns the arguments or what is
 * wrong (`{ error }`): the error becomes the issue the dispatcher shows above the usage.
 */
export function wordsArgs<Args extends object>(parse: (words: readonly string[]) => Args | { error: string }): z.ZodType<Args, string[]> {
  return z.array(z.string()).transform((words, ctx) => {
    const parsed = parse(words);
    if (isError(parsed)) {
      ctx.addIssue({ code: 'custom', message: parsed.error, input: words });
      return z.NEVER;
    }
    return parsed;
  });
}

function isError(parsed: object): parsed is { error: string } {
  return 'error' in parsed && typeof parsed.error === 'string';
}
