//! Closed lists of values named by fixed texts, the same way in every service.

/// A closed list of values named by fixed texts: `as_str`, `ALL`, `FromStr` (naming the choices
/// when it fails, as the crate's error type `$error`, which has `invalid(String)`), `Display`, and
/// serde as those texts.
///
/// ```
/// #[derive(Debug)]
/// pub struct MyError(String);
/// impl MyError {
///     fn invalid(message: String) -> Self {
///         Self(message)
///     }
/// }
/// docket_platform::text_enum!(MyError; Colour, "colour" { Red = "red", Blue = "blue" });
///
/// assert_eq!("blue".parse::<Colour>().unwrap(), Colour::Blue);
/// assert_eq!(Colour::Red.to_string(), "red");
/// assert_eq!(Colour::ALL, &[Colour::Red, Colour::Blue]);
/// let refused = "green".parse::<Colour>().unwrap_err();
/// assert_eq!(refused.0, "`green` is not a colour (one of: red, blue)");
/// ```
#[macro_export]
macro_rules! text_enum {
    ($error:ty; $(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(<$error>::invalid(format!(
                        concat!("`{}` is not a ", $what, " (one of: {})"),
                        s.chars().take(40).collect::<String>(),
                        [$($text),+].join(", ")
                    ))),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
