//! The vocabulary of synchronisation shared by the store, the node and the console:
//! connections and their states, rule directions, and the kinds of message peers exchange.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Declares a fieldless enum with its stored spelling, `Display` and `FromStr`.
macro_rules! spelled {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The spelling stored and shown.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;

            fn from_str(s: &str) -> Result<Self, UnknownValue> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownValue {
                        what: stringify!($name),
                        value: s.to_string(),
                        expected: &[$($text),+],
                    }),
                }
            }
        }
    };
}

/// Where a change feed has got to: the last record read, by (update time, key), so that
/// records sharing one timestamp are neither missed nor repeated across pages. Connectors
/// produce it, the store keeps it, the node passes it between them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Watermark {
    /// The update time of the last record read, in the platform's format; empty at the
    /// start.
    pub updated_at: String,
    /// Its key; empty at the start.
    pub key: String,
}

impl Watermark {
    /// From the beginning of time.
    pub fn start() -> Self {
        Watermark::default()
    }
}

/// A value that is not one of an enumeration's spellings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValue {
    /// The enumeration.
    pub what: &'static str,
    /// What was given.
    pub value: String,
    /// What is accepted.
    pub expected: &'static [&'static str],
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a {}; expected one of: {}",
            self.value,
            self.what,
            self.expected.join(", ")
        )
    }
}

impl std::error::Error for UnknownValue {}

spelled! {
    /// How a connection's rules are managed.
    ConnectionMode {
        /// Fixed default rules that cannot be edited.
        Basic = "basic",
        /// Editable rules, changed with Publish.
        Script = "script",
    }
}

spelled! {
    /// Where a connection is in its life.
    ConnectionStatus {
        /// Initiated; waiting for the other side to accept the invitation.
        Pending = "pending",
        /// Both sides accepted; changes flow.
        Active = "active",
        /// Paused by an admin; changes keep queueing and flow once re-activated.
        Inactive = "inactive",
    }
}

spelled! {
    /// Which side of a connection this node is.
    ConnectionRole {
        /// It created the invitation.
        Initiator = "initiator",
        /// It accepted the invitation.
        Acceptor = "acceptor",
    }
}

spelled! {
    /// Which of a side's two scripts.
    RuleDirection {
        /// Local entity → replica sent to the other side.
        Outgoing = "outgoing",
        /// Received replica → local entity.
        Incoming = "incoming",
    }
}

spelled! {
    /// What a message between peers carries.
    MessageKind {
        /// A replica of a changed entity.
        Replica = "replica",
        /// The receiving side's link back (its key, number and URL) after it applied one.
        Ack = "ack",
        /// The sender no longer syncs this twin.
        Unlink = "unlink",
        /// The sender links one of its records to an existing record here (bulk connect),
        /// without either being overwritten.
        Link = "link",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip_and_unknown_ones_say_what_is_expected() {
        for m in ConnectionStatus::ALL {
            assert_eq!(m.as_str().parse::<ConnectionStatus>().unwrap(), *m);
        }
        let err = "paused".parse::<ConnectionStatus>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "`paused` is not a ConnectionStatus; expected one of: pending, active, inactive"
        );
        assert_eq!(
            serde_json::to_string(&MessageKind::Unlink).unwrap(),
            "\"unlink\""
        );
    }
}
