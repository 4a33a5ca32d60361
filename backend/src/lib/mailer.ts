import nodemailer from 'nodemailer';
import type { AppConfig } from '../config.js';
import type { Logger } from './logger.js';

export type Mail = { to: string; subject: string; text: string };

/** Sends through PD_SMTP_URL when configured; returns false when there is no SMTP server. */
export async function sendMail(config: AppConfig, log: Logger, mail: Mail): Promise<boolean> {
  if (!config.smtp) return false;
  const transport = nodemailer.createTransport(config.smtp.url);
  try {
    await transport.sendMail({ from: config.smtp.from, ...mail });
    return true;
  } catch (error) {
    log.warn({ err: error, to: mail.to }, 'could not send e-mail; the link is shown to the admin instead');
    return false;
  } finally {
    transport.close();
  }
}
