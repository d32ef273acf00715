/**
 * Splits slash-command text into words the way a shell would for simple cases: whitespace
 * separates, "double" or 'single' quotes keep spaces inside a word. Slack sends curly quotes
 * when people type on phones, so those count as quotes too.
 */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  const pattern = /"([^"]*)"|'([^']*)'|“([^”]*)”|‘([^’]*)’|(\S+)/g;
  for (const match of text.matchAll(pattern)) {
    words.push(match[1] ?? match[2] ?? match[3] ?? match[4] ?? match[5] ?? '');
  }
  return words;
}
