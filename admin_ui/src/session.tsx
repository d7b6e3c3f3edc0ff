import { createContext } from "preact";
import { useContext } from "preact/hooks";
import { graphql } from "./gql";
import type { ViewerQuery } from "./gql/graphql";

export const ViewerDoc = graphql(`
  query Viewer {
    viewer {
      user {
        id
        name
        email
        timeZone
        isOwner
      }
      account {
        id
        kind
        name
        currency
        approved
      }
      accounts {
        isCurrent
        account {
          id
          name
          kind
        }
      }
    }
  }
`);

export type Viewer = NonNullable<ViewerQuery["viewer"]>;

export type Session = {
  viewer: Viewer;
  isOperator: boolean;
  /** Only a partner account's owner changes campaigns and sets up users. */
  isOwner: boolean;
  refresh: () => Promise<void>;
  signOut: () => Promise<void>;
  switchAccount: (accountId: string) => Promise<string | null>;
};

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error("useSession outside a signed-in page");
  return s;
}
