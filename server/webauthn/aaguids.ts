/**
 * AAGUID → key model, for the security keys people commonly carry. The AAGUID names the
 * model, never the individual key (docs/architecture.md). Sources: the vendors' published AAGUID
 * lists and the FIDO Metadata Service.
 */
const KNOWN_MODELS: Readonly<Record<string, string>> = {
  // Yubico
  'cb69481e-8ff7-4039-93ec-0a2729a154a8': 'YubiKey 5 Series',
  'ee882879-721c-4913-9775-3dfcce97072a': 'YubiKey 5 Series',
  '19083c3d-8383-4b18-bc03-8f1c9ab2fd1b': 'YubiKey 5 Series',
  'fa2b99dc-9e39-4257-8f92-4a30d23c4118': 'YubiKey 5 Series with NFC',
  '2fc0579f-8113-47ea-b116-bb5a8db9202a': 'YubiKey 5 Series with NFC',
  'a25342c0-3cdc-4414-8e46-f4807fca511c': 'YubiKey 5 Series with NFC',
  'c5ef55ff-ad9a-4b9f-b580-adebafe026d0': 'YubiKey 5Ci',
  'a02167b9-ae71-4ac7-9a07-06432ebb6f1c': 'YubiKey 5 Series with Lightning',
  '73bb0cd4-e502-49b8-9c6f-b59445bf720b': 'YubiKey 5 FIPS Series',
  'c1f9a0bc-1dd2-404a-b27f-8e29047a43fd': 'YubiKey 5 FIPS Series with NFC',
  '85203421-48f9-4355-9bc8-8a53846e5083': 'YubiKey 5 FIPS Series with Lightning',
  'd8522d9f-575b-4866-88a9-ba99fa02f35b': 'YubiKey Bio Series',
  'dd86a2da-86a0-4cbe-b462-4bd31f57bc6f': 'YubiKey Bio Series',
  '7d1351a6-e097-4852-b8bf-c9ac5c9ce4a3': 'YubiKey Bio Series - Multi-protocol Edition',
  '90636e1f-ef82-43bf-bdcf-5255f139d12f': 'YubiKey Bio Series - Multi-protocol Edition',
  'b92c3f9a-c014-4056-887f-140a2501163b': 'Security Key by Yubico',
  '149a2021-8ef6-4133-96b8-81f8d5b7f1f5': 'Security Key by Yubico with NFC',
  '6d44ba9b-f6ec-2e49-b930-0c8fe920cb73': 'Security Key by Yubico with NFC',
  'a4e9fc6d-4cbe-4758-b8ba-37598bb5bbaa': 'Security Key NFC by Yubico',
  'e77e3c64-05e3-428b-8824-0cbeb04b829d': 'Security Key NFC by Yubico',
  '0bb43545-fd2c-4185-87dd-feb0b2916ace': 'Security Key NFC by Yubico - Enterprise Edition',
  '47ab2fb4-66ac-4184-9ae1-86be814012d5': 'Security Key NFC by Yubico - Enterprise Edition',
  // Feitian
  '833b721a-ff5f-4d00-bb2e-bdda3ec01e29': 'Feitian ePass FIDO2',
  'ee041bce-25e5-4cdb-8f86-897fd6418464': 'Feitian ePass FIDO2-NFC',
  '234cd403-35a2-4cc2-8015-77ea280c77f5': 'Feitian ePass FIDO2-NFC Series',
  '260e3021-482d-442d-838c-7edfbe153b7e': 'Feitian ePass FIDO2-NFC Plus',
  '77010bd7-212a-4fc9-b236-d2ca5e9d4084': 'Feitian BioPass FIDO2',
  'b6ede29c-3772-412c-8a78-539c1f4c62d2': 'Feitian BioPass FIDO2 Plus',
  '4c0cf95d-2f40-43b5-ba42-4c83a11c04ba': 'Feitian BioPass FIDO2 Pro',
  '12ded745-4bed-47d4-abaa-e713f51d6393': 'Feitian AllinOne FIDO2',
  '3e22415d-7fdf-4ea4-8a0c-dd60c4249b9d': 'Feitian iePass FIDO',
  // Google
  '42b4fb4a-2866-43b2-9bf7-6c6669c2e5d3': 'Google Titan Security Key v2',
  // SoloKeys
  '8876631b-d4a0-427f-5773-0ec71c9e0279': 'Solo',
  '8976631b-d4a0-427f-5773-0ec71c9e0279': 'Solo Tap',
  '9876631b-d4a0-427f-5773-0ec71c9e0279': 'Somu',
  // Nitrokey
  'ec99db19-cd1f-4c06-a2a9-940f17a6a30b': 'Nitrokey 3 xN',
  '2cd2f727-f6ca-44da-8f48-5c2e5da000a2': 'Nitrokey 3 AM',
  // Token2
  'ab32f0c6-2239-afbb-c470-d2ef4e254db7': 'TOKEN2 FIDO2 Security Key',
};

export const UNKNOWN_MODEL = 'Unknown security key';

export function modelNameFor(aaguid: string): string {
  return KNOWN_MODELS[aaguid.toLowerCase()] ?? UNKNOWN_MODEL;
}
