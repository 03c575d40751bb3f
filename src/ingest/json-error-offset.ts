/**
 * Finds where a JSON text stops being valid, as a byte offset. V8's JSON.parse messages only
 * sometimes carry a position (and then in UTF-16 units), so when a body fails to parse this scanner
 * walks it once to tell the client exactly where. It runs only on the error path.
 */
export interface JsonSyntaxError {
  offset: number;
  message: string;
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

export function findJsonSyntaxError(buf: Uint8Array): JsonSyntaxError | undefined {
  let i = 0;
  const n = buf.length;
  const fail = (message: string): never => {
    throw { offset: i, message } satisfies JsonSyntaxError;
  };
  const ws = () => {
    while (i < n && WS.has(buf[i]!)) i++;
  };
  const literal = (word: string) => {
    for (let k = 0; k < word.length; k++, i++) {
      if (buf[i] !== word.charCodeAt(k)) fail(`invalid literal, expected "${word}"`);
    }
  };
  const string = () => {
    i++; // opening quote
    while (i < n) {
      const c = buf[i]!;
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail('control character in string');
      if (c === 0x5c) {
        const e = buf[i + 1];
        if (e === 0x75) {
          for (let k = 2; k < 6; k++) {
            const h = buf[i + k];
            const hex = h !== undefined && ((h >= 48 && h <= 57) || (h >= 65 && h <= 70) || (h >= 97 && h <= 102));
            if (!hex) {
              i += k;
              fail('invalid \\u escape');
            }
          }
          i += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(String.fromCharCode(e))) {
          i++;
          fail('invalid escape');
        }
        i += 2;
        continue;
      }
      i++;
    }
    fail('unterminated string');
  };
  const number = () => {
    if (buf[i] === 0x2d) i++;
    const isDigit = () => i < n && buf[i]! >= 48 && buf[i]! <= 57;
    if (!isDigit()) fail('invalid number');
    if (buf[i] === 48) i++;
    else while (isDigit()) i++;
    if (buf[i] === 0x2e) {
      i++;
      if (!isDigit()) fail('invalid number');
      while (isDigit()) i++;
    }
    if (buf[i] === 0x65 || buf[i] === 0x45) {
      i++;
      if (buf[i] === 0x2b || buf[i] === 0x2d) i++;
      if (!isDigit()) fail('invalid number');
      while (isDigit()) i++;
    }
  };
  const value = (depth: number): void => {
    if (depth > 512) fail('nesting too deep');
    ws();
    if (i >= n) fail('unexpected end of input');
    const c = buf[i]!;
    if (c === 0x7b) {
      i++;
      ws();
      if (buf[i] === 0x7d) {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (buf[i] !== 0x22) fail(i >= n ? 'unexpected end of input' : 'expected a double-quoted property name');
        string();
        ws();
        if (buf[i] !== 0x3a) fail("expected ':' after property name");
        i++;
        value(depth + 1);
        ws();
        if (buf[i] === 0x2c) {
          i++;
          continue;
        }
        if (buf[i] === 0x7d) {
          i++;
          return;
        }
        fail(i >= n ? 'unexpected end of input' : "expected ',' or '}' in object");
      }
    }
    if (c === 0x5b) {
      i++;
      ws();
      if (buf[i] === 0x5d) {
        i++;
        return;
      }
      for (;;) {
        value(depth + 1);
        ws();
        if (buf[i] === 0x2c) {
          i++;
          continue;
        }
        if (buf[i] === 0x5d) {
          i++;
          return;
        }
        fail(i >= n ? 'unexpected end of input' : "expected ',' or ']' in array");
      }
    }
    if (c === 0x22) return string();
    if (c === 0x74) return literal('true');
    if (c === 0x66) return literal('false');
    if (c === 0x6e) return literal('null');
    if (c === 0x2d || (c >= 48 && c <= 57)) return number();
    fail('unexpected character');
  };
  try {
    if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) i = 3;
    value(0);
    ws();
    if (i < n) fail('unexpected data after the JSON value');
    return undefined;
  } catch (e) {
    if (typeof e === 'object' && e !== null && 'offset' in e) return e as JsonSyntaxError;
    throw e;
  }
}
