import type { CDPSession, Page } from '@playwright/test';
import type { SoftCredential } from '../server/test/softAuthenticator.ts';

/**
 * Chromium's virtual authenticator (CDP WebAuthn domain): a USB CTAP2 security key that
 * answers navigator.credentials in the page as a real key would, touched automatically.
 */
export class VirtualAuthenticator {
  private constructor(
    private readonly cdp: CDPSession,
    readonly authenticatorId: string,
  ) {}

  static async attach(page: Page): Promise<VirtualAuthenticator> {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('WebAuthn.enable', { enableUI: false });
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'usb',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    return new VirtualAuthenticator(cdp, authenticatorId);
  }

  /**
   * Puts a credential made elsewhere (a key registered over the API) into this
   * authenticator. With `userHandle` it is discoverable: the key can name its account.
   */
  async addCredential(credential: SoftCredential, rpId: string, userHandle?: string): Promise<void> {
    await this.cdp.send('WebAuthn.addCredential', {
      authenticatorId: this.authenticatorId,
      credential: {
        credentialId: credential.id.toString('base64'),
        isResidentCredential: userHandle !== undefined,
        rpId,
        privateKey: credential.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
        signCount: credential.signCount,
        ...(userHandle ? { userHandle: Buffer.from(userHandle.replaceAll('-', ''), 'hex').toString('base64') } : {}),
      },
    });
  }

  /** Unplugs this key: it stops answering. */
  async remove(): Promise<void> {
    await this.cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: this.authenticatorId });
  }

  async credentialCount(): Promise<number> {
    const { credentials } = await this.cdp.send('WebAuthn.getCredentials', { authenticatorId: this.authenticatorId });
    return credentials.length;
  }

  async clear(): Promise<void> {
    await this.cdp.send('WebAuthn.clearCredentials', { authenticatorId: this.authenticatorId });
  }
}

/**
 * Sends the page the WebAuthn options from `optionsUrl` without allowCredentials, as a
 * discoverable-credential prompt asks: any credential on the key for this site may answer.
 */
export async function offerAnyCredential(page: Page, optionsUrl: string): Promise<void> {
  await page.route(optionsUrl, async (route) => {
    const response = await route.fetch();
    const body = (await response.json()) as { options: Record<string, unknown> };
    delete body.options.allowCredentials;
    await route.fulfill({ response, json: body });
  });
}
