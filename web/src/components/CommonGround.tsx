import { languageName } from './LanguagesChoice';
import { useT } from '../i18n';

/** What the two share, beside the partner's name: interests, then spoken languages. */
export function CommonGround({ interests, languages }: { interests: string[]; languages: string[] }) {
  const t = useT();
  return (
    <>
      {interests.length ? (
        <span className="common" data-testid="common-interests">
          {' '}
          {t('stage.bothLike', { interests: interests.join(', ') })}
        </span>
      ) : null}
      {languages.length ? (
        <span className="common" data-testid="common-languages">
          {' '}
          {t('stage.bothSpeak', { languages: languages.map(languageName).join(', ') })}
        </span>
      ) : null}
    </>
  );
}
