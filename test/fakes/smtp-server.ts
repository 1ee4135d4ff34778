import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { waitFor } from '../support/wait.js';

/** One message the server accepted, parsed as a mail client would show it. */
export interface ReceivedMail {
  /** The envelope's recipients (RCPT TO). */
  to: string[];
  from: string;
  subject: string;
  text: string;
  /** The HTML part as sent ('' when there was none). */
  html: string;
  /** Header names in lower case, values as mailparser gives them. */
  headers: Map<string, unknown>;
  parsed: ParsedMail;
  /** The SMTP AUTH user the client signed in as. */
  user?: string;
}

export interface FakeSmtpServer {
  /** `smtp://<user>:<password>@127.0.0.1:<port>`: the SMTP_URL of the app under test. */
  url: string;
  messages: ReceivedMail[];
  /** The next `count` messages are refused at end of data with this reply (451: try later). */
  refuseNext(count: number, code?: number, message?: string): void;
  /** How many messages were refused so far. */
  refused(): number;
  /** The messages sent to `address` (envelope recipient), in order. */
  to(address: string): ReceivedMail[];
  /** Waits until `address` has received `count` messages; returns them. */
  waitFor(address: string, count?: number): Promise<ReceivedMail[]>;
  close(): Promise<void>;
}

export const SMTP_USER = 'mailer';
export const SMTP_PASSWORD = 'smtp-test-password';

/**
 * A real SMTP server (the `smtp-server` package) on a loopback port, with AUTH required (the
 * credentials above), no STARTTLS (nodemailer would refuse its self-signed certificate).
 */
export async function startFakeSmtpServer(): Promise<FakeSmtpServer> {
  const messages: ReceivedMail[] = [];
  let toRefuse: { count: number; code: number; message: string } = {
    count: 0,
    code: 451,
    message: '',
  };
  let refusedCount = 0;
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === SMTP_USER && auth.password === SMTP_PASSWORD)
        callback(null, { user: auth.username });
      else callback(new Error('Invalid username or password'));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (toRefuse.count > 0) {
          toRefuse.count--;
          refusedCount++;
          const error = new Error(toRefuse.message) as Error & { responseCode: number };
          error.responseCode = toRefuse.code;
          callback(error);
          return;
        }
        void simpleParser(Buffer.concat(chunks)).then(
          (parsed) => {
            messages.push({
              to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              subject: parsed.subject ?? '',
              text: parsed.text ?? '',
              html: typeof parsed.html === 'string' ? parsed.html : '',
              headers: parsed.headers as Map<string, unknown>,
              parsed,
              user: session.user as string | undefined,
            });
            callback();
          },
          (error: Error) => callback(error),
        );
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  const to = (address: string) =>
    messages.filter((message) =>
      message.to.some((rcpt) => rcpt.toLowerCase() === address.toLowerCase()),
    );
  return {
    url: `smtp://${SMTP_USER}:${SMTP_PASSWORD}@127.0.0.1:${port}`,
    messages,
    refuseNext(count, code = 451, message = '4.3.0 Try again later') {
      toRefuse = { count, code, message };
    },
    refused: () => refusedCount,
    to,
    waitFor: (address, count = 1) =>
      waitFor(
        async () => (to(address).length >= count ? to(address) : undefined),
        15_000,
        `${count} message(s) to ${address}`,
      ),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
