/** Messages the client sends, as plain objects tagged by `name`. */

/** Untagged packets of the start-up phase. */
export type StartupPacket =
  | { name: 'startupMessage'; protocolVersion: number; parameters: Record<string, string> }
  | { name: 'sslRequest' }
  | { name: 'gssEncRequest' }
  | { name: 'cancelRequest'; processId: number; secretKey: number };

export type FrontendMessage =
  | { name: 'query'; text: string }
  | { name: 'parse'; statement: string; text: string; parameterTypeIds: number[] }
  | {
      name: 'bind';
      portal: string;
      statement: string;
      parameterFormats: number[];
      parameters: (Buffer | null)[];
      resultFormats: number[];
    }
  | { name: 'describe'; target: 'S' | 'P'; objectName: string }
  | { name: 'execute'; portal: string; maxRows: number }
  | { name: 'sync' }
  | { name: 'flush' }
  | { name: 'close'; target: 'S' | 'P'; objectName: string }
  | { name: 'terminate' }
  | { name: 'copyData'; data: Buffer }
  | { name: 'copyDone' }
  | { name: 'copyFail'; message: string }
  /**
   * PasswordMessage, SASLInitialResponse or SASLResponse: the same type byte; which one it is follows
   * from the authentication exchange (see authentication-response.ts).
   */
  | { name: 'authenticationResponse'; data: Buffer }
  | {
      name: 'functionCall';
      functionId: number;
      argumentFormats: number[];
      arguments: (Buffer | null)[];
      resultFormat: number;
    };

export type FrontendMessageName = FrontendMessage['name'];
