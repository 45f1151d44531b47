// What to do when refresh or destroy cannot connect with the connection Pulumi's state holds. A refused
// password is rarely a stopped server: state keeps the password of the last up that completed for this
// resource, so an up that changed the stack's password (the server took the new one) and then failed
// leaves the old one there, and Pulumi gives refresh and destroy nothing newer.
const PASSWORD_REFUSED = "28P01";

/** The advice after "cannot connect …: <error>." for `action` ("refresh", "run destroy"); `otherwise` for any other error. */
export function stateConnectionAdvice(error: unknown, action: string, otherwise = `Start the server and ${action} again.`): string {
    if ((error as { code?: unknown } | null)?.code === PASSWORD_REFUSED) {
        return (
            "The server refused the password in Pulumi's state, that of the last up that completed; if the stack's password " +
            `changed since (an up that failed after the server took the new one), run \`pulumi up\` until it completes, then ${action} again.`
        );
    }
    return otherwise;
}
