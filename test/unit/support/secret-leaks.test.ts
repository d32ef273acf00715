import { describe, expect, it } from 'vitest';
import { expectNoSecretLeaks, findSecretLeaks } from '../../support/secret-leaks.ts';

const SECRET = 'Qx7vR2mZ9pLk4WtB';

describe('the secret leak scanner (test/support/secret-leaks.ts)', () => {
  it('finds a value written as is, and says where without printing it', async () => {
    const leaks = await findSecretLeaks(['not-there-at-all', SECRET], { output: () => `{"msg":"rotated","value":"${SECRET}"}\n` });
    expect(leaks).toEqual([{ secretIndex: 1, where: 'stdout/stderr', form: 'as is' }]);
    await expect(expectNoSecretLeaks([SECRET], { output: () => SECRET })).rejects.toThrow(/secret #0 \(as is\) in stdout\/stderr/);
    await expect(expectNoSecretLeaks([SECRET], { output: () => SECRET })).rejects.not.toThrow(SECRET);
  });

  it('finds a value base64-encoded at any byte offset of a larger blob, as a Secret or a dump would carry it', async () => {
    for (const prefix of ['', 'a', 'ab', 'abc', 'password=']) {
      const blob = Buffer.from(`${prefix}${SECRET};other=1`).toString('base64');
      const leaks = await findSecretLeaks([SECRET], { extra: { 'a Secret': blob } });
      expect(leaks.map((leak) => leak.where), `prefix "${prefix}"`).toEqual(['a Secret']);
    }
  });

  it('finds JSON-escaped and URL-encoded values', async () => {
    const odd = 'pa"ss/wo rd+=\\x';
    expect((await findSecretLeaks([odd], { extra: { json: JSON.stringify({ v: odd }) } }))[0]?.form).toBe('JSON-escaped');
    expect((await findSecretLeaks([odd], { extra: { url: `https://x/?v=${encodeURIComponent(odd)}` } }))[0]?.form).toBe('URL-encoded');
  });

  it('reports nothing when the values are absent, even when similar text is there', async () => {
    const leaks = await findSecretLeaks([SECRET], { output: () => `${SECRET.slice(0, 10)}… version 7 → 8`, extra: { other: Buffer.from('unrelated').toString('base64') } });
    expect(leaks).toEqual([]);
  });

  it('refuses values too short to scan for without matching by chance', async () => {
    await expect(findSecretLeaks(['abc'], { output: () => '' })).rejects.toThrow(/shorter than 8 characters/);
  });
});
