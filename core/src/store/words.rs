//! The duplicate rule's word normalisation ([`super::similar`]): accent folding, the suffix fold, and the stop
//! word lists.
//!
//! Key decision: this file stands alone (std only), because `core/build.rs` compiles it too: the stop words are
//! turned into a sorted table at build time, not into a set by every fresh instance (one per request), which cost
//! a form POST about a sixth of its CPU time.

use std::collections::BTreeSet;

/// Folds the accents of Latin letters (matching only: `réf` = `ref`, `grüße` = `grusse`).
pub fn fold(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ą' => out.push('a'),
            'ç' | 'ć' | 'č' => out.push('c'),
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' | 'ě' => out.push('e'),
            'ì' | 'í' | 'î' | 'ï' | 'ī' => out.push('i'),
            'ñ' | 'ń' | 'ň' => out.push('n'),
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => out.push('o'),
            'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' => out.push('u'),
            'ý' | 'ÿ' => out.push('y'),
            'ś' | 'š' => out.push('s'),
            'ź' | 'ż' | 'ž' => out.push('z'),
            'ł' => out.push('l'),
            'ř' => out.push('r'),
            'ß' => out.push_str("ss"),
            'æ' => out.push_str("ae"),
            'œ' => out.push_str("oe"),
            c => out.push(c),
        }
    }
    out
}

/// A light, language-blind suffix fold: enough to make inflected forms of one word meet, not a real stemmer.
pub fn stem(word: &str) -> String {
    if word.len() < 4 || !word.bytes().all(|b| b.is_ascii_lowercase()) {
        return word.to_owned();
    }
    let mut w = word.to_owned();
    if w.ends_with("ies") && w.len() > 4 {
        w.truncate(w.len() - 3);
        w.push('y');
    } else if w.ends_with("sses")
        || ["xes", "zes", "ches", "shes"].iter().any(|s| w.ends_with(s))
        || (w.ends_with("en") && w.len() >= 7)
    {
        // `-es` after a sibilant (`boxes`, `classes`), and German `-en` plurals (`Rechnungen`).
        w.truncate(w.len() - 2);
    } else if w.ends_with("ing") && w.len() >= 6 {
        w.truncate(w.len() - 3);
        undouble(&mut w);
    } else if w.ends_with("ed") && w.len() >= 5 {
        w.truncate(w.len() - 2);
        undouble(&mut w);
    } else if w.ends_with('s') && !["ss", "us", "is"].iter().any(|s| w.ends_with(s)) {
        w.truncate(w.len() - 1);
    }
    if w.len() >= 5 && w.ends_with('e') {
        w.truncate(w.len() - 1);
    }
    w
}

/// `stopp` → `stop`, `runn` → `run` (but `fill`, `pass`, `buzz` keep theirs).
fn undouble(w: &mut String) {
    let b = w.as_bytes();
    if b.len() >= 3 && b[b.len() - 1] == b[b.len() - 2] && !b"aeiouslz".contains(&b[b.len() - 1]) {
        w.pop();
    }
}

/// Every stop word as the rule can meet it: each listed word folded, and folded then stemmed.
pub fn stop_word_forms() -> BTreeSet<String> {
    [EN, SUPPORT, DE, FR, ES, PT, NL, IT, SV]
        .iter()
        .flat_map(|list| list.split_whitespace())
        .flat_map(|w| {
            let f = fold(w);
            [stem(&f), f]
        })
        .collect()
}

const EN: &str = "a about above after again against all also am an and any are aren as at be because been before \
    being below between both but by can cannot could couldn did didn do does doesn doing don down during each even \
    few for from further get gets got getting had hadn has hasn have haven having he her here hers herself him \
    himself his how i if im in into is isn it its itself ive just let me more most my myself no nor not now of off \
    on once only or other ought our ours ourselves out over own same she should shouldn so some such than that the \
    their theirs them themselves then there these they this those through to too under until up very was wasn we \
    were weren what when where which while who whom why will with won would wouldn you your yours yourself \
    yourselves still yet ll ve re already anyone someone something anything one ok okay yes sure well way thing \
    things lot much many able know seem seems see make made go going went come came tell told say said us like \
    give gives keep keeps might must may";

/// Words nearly every support message has, in the languages above: evidence of nothing.
const SUPPORT: &str = "hi hello hey dear thanks thank thx please pls help support team regards kind best cheers \
    sorry question issue issues problem problems urgent urgently asap today yesterday tomorrow morning afternoon \
    evening again need needs want try tried trying work works working worked anymore still hope fine right \
    visitor agent bot assistant customer reply look looking quick quickly soon possible let know every since \
    show new time use sent send ago last week day via etc maybe \
    hallo danke bitte grusse gruss freundlichen geehrte geehrter damen herren leider schon immer wieder heute \
    problem frage hilfe bonjour merci cordialement svp madame monsieur depuis toujours encore aujourd hui probleme \
    aide hola gracias saludos favor buenas buenos dias ayuda problema hoy ola obrigado obrigada bom boa dia tarde \
    ajuda hoje consigo goedemorgen goedendag bedankt alvast hej tack buongiorno grazie aiuto hiya howdy guten tag \
    goedemiddag goedenavond dzien dobry pozdrawiam dziekuje cumprimentos buonasera salve hei hilsen tusen takk \
    здравствуйте добрый день спасибо уважением привет";

const DE: &str = "aber alle allem allen aller alles als also am an andere anderen auch auf aus bei bin bis bist da \
    damit dann das dass dem den der des die dies diese diesem diesen dieser du durch ein eine einem einen einer \
    eines er es etwas euch euer fur hat hatte hatten habe haben hier ich ihr ihre im in ist ja jede jeder kann \
    kein keine konnen konnte mein meine meinem meinen mich mir mit muss nach nicht noch nun nur ob oder ohne sehr \
    sein seine sich sie sind so uber um und uns unser unsere unter vom von vor war waren was weil wenn wer wie \
    wir wird wo zu zum zur mehr seit wurde werden gibt geht";

const FR: &str = "au aux avec ce ces cet cette dans de des du elle en et eux il ils je la le les leur lui ma mais \
    me meme mes moi mon ne nos notre nous on ou par pas pour qu que qui sa se ses son sur ta te tes toi ton tu un \
    une vos votre vous est sont suis ai as avons avez ont etait ete etre avoir fait faire plus tres bien peux \
    peut pouvez comme quand aussi tout tous";

const ES: &str = "al algo como con de del el ella ellos en entre era es esa ese eso esta este esto estoy estan fue \
    ha he hay la las le les lo los me mi mis muy mas nos para pero por porque que se si sin sobre su sus tambien \
    te tengo tiene un una uno unos yo ya cuando donde desde puedo puede todo";

const PT: &str = "ao aos as com como da das de do dos ela ele em entre era essa esse esta este eu foi ha isso ja \
    mais mas me meu minha muito na nas nao no nos os ou para pela pelo por que se sem seu sua tambem tem um uma \
    voce estou quando onde desde posso pode";

const NL: &str = "aan al als bij dat de die dit een en er het hij ik in is je kan maar me met mijn niet nog of om \
    ons ook op over te tot uit van voor was wat we wel zijn ze zo";

const IT: &str = "al alla anche che chi ci come con da dal del della di e gli ha ho il in io la le lo ma mi mio \
    mia non per piu quando se si sono su sul una uno";

const SV: &str = "att av de den det en ett har inte jag kan med min mitt och om pa som till var vi";
